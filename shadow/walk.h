/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The guest's page-table walker (docs/shadow-paging.md, "The walker"):
 * 32-bit paging with 4 KiB and 4 MiB pages, and PAE paging with 4 KiB and
 * 2 MiB pages and NX, as SDM 3A chapter 4 describes them, producing the
 * page-fault error code a CPU would and setting accessed and dirty flags
 * where a CPU would.
 *
 * Nothing here depends on the monitor: guest-physical memory is reached
 * through struct sh_walk_env, so that the walker builds in userland for
 * tests/unit/test-shadow.c as well.
 */
#ifndef BT86_SHADOW_WALK_H
#define BT86_SHADOW_WALK_H

#include <stdbool.h>
#include <stdint.h>

/* Page-table entry bits (SDM 3A §4.3, §4.4). */
#define GPTE_P	  (1u << 0)
#define GPTE_W	  (1u << 1)
#define GPTE_U	  (1u << 2)
#define GPTE_PWT  (1u << 3)
#define GPTE_PCD  (1u << 4)
#define GPTE_A	  (1u << 5)
#define GPTE_D	  (1u << 6)
#define GPTE_PS	  (1u << 7)
#define GPTE_G	  (1u << 8)
#define GPTE_NX	  (1ULL << 63)
#define GPTE_ADDR 0xfffff000u

/* Control register bits the walk depends on (SDM 3A §2.5). */
#define SH_CR0_WP   (1u << 16)
#define SH_CR0_PG   (1u << 31)
#define SH_CR4_PSE  (1u << 4)
#define SH_CR4_PAE  (1u << 5)
#define SH_CR4_PGE  (1u << 7)
#define SH_CR4_SMEP (1u << 20)
#define SH_CR4_SMAP (1u << 21)

/*
 * The access, in the bits of the #PF error code that describe it (SDM 3A
 * §4.7), plus the walker's own.
 */
#define SH_ACC_WRITE (1u << 1) /* W/R */
#define SH_ACC_USER  (1u << 2) /* U/S: a CPL 3 access */
#define SH_ACC_FETCH (1u << 4) /* an instruction fetch */
#define SH_ACC_PEEK  (1u << 8) /* the monitor looking: no A/D flags set */
#define SH_ACC_AC    (1u << 9) /* EFLAGS.AC: SMAP lets explicit accesses by */

/* #PF error code bits (SDM 3A §4.7, figure 4-12). */
#define SH_PF_P	   (1u << 0)
#define SH_PF_W	   (1u << 1)
#define SH_PF_U	   (1u << 2)
#define SH_PF_RSVD (1u << 3)
#define SH_PF_I	   (1u << 4)

typedef uint64_t sh_u64;
typedef uint32_t sh_u32;

struct sh_walk_env {
	void *opaque;
	/* The u32 or u64 at guest-physical @gpa; false if it is not RAM. */
	bool (*read)(void *opaque, sh_u64 gpa, void *buf, unsigned int len);
	/* OR @bits into the u32 at guest-physical @gpa (A and D flags). */
	void (*set_bits)(void *opaque, sh_u64 gpa, sh_u32 bits);
	/* Bits 51:MAXPHYADDR of PAE entries are reserved: the mask. */
	sh_u64 rsvd_high;
};

/* The guest's paging registers. */
struct sh_paging {
	sh_u32 cr0, cr3, cr4;
	sh_u32 nxe;	 /* EFER.NXE */
	sh_u64 pdpte[4]; /* PAE: the PDPTE registers, loaded at MOV CR3 */
};

/* One translation, or why there is none. */
struct sh_walk {
	sh_u64 gpa;	/* the guest-physical address */
	sh_u64 pde;	/* the entries as the walk left them */
	sh_u64 pte;	/* (pte = pde for a large page) */
	sh_u64 pde_gpa; /* where they are */
	sh_u64 pte_gpa;
	sh_u32 error;	      /* the #PF error code, when it faulted */
	unsigned char large;  /* a 4 MiB (2 MiB with PAE) page */
	unsigned char write;  /* the translation's rights: writable, */
	unsigned char user;   /* user, */
	unsigned char nx;     /* not executable, */
	unsigned char global; /* global (CR4.PGE and G) */
};

/*
 * Translate @lin for the access @acc.  True if the access may go ahead
 * (A and D are set unless SH_ACC_PEEK), else false with w->error.  Guest
 * paging must be on.
 */
bool sh_walk(const struct sh_walk_env *env, const struct sh_paging *p,
	     sh_u32 lin, unsigned int acc, struct sh_walk *w);

/*
 * The page-directory entry that maps @lin (0 if no PAE PDPTE register
 * maps it: a PDPTE holds no rights, SDM 3A §4.4.1).  Two address spaces
 * whose entries are equal map @lin's directory slot alike, wherever their
 * directories are, for as long as the page table the entry names (*leaf,
 * a frame number; SH_NO_TABLE for a large page or none) is not written.
 * That lets the translator check a slot once for every address space
 * that shares its page table, as every Linux process shares the kernel's
 * (monitor/bt_pages.c).
 */
#define SH_NO_TABLE 0xffffffffu
sh_u64 sh_dir_entry(const struct sh_walk_env *env, const struct sh_paging *p,
		    sh_u32 lin, sh_u32 *leaf);

/*
 * PAE: the four PDPTEs at @cr3 into p->pdpte; false if one that is
 * present sets a reserved bit (MOV to CR3 then raises #GP(0), SDM 3A
 * §4.4.1).
 */
bool sh_load_pdptes(const struct sh_walk_env *env, struct sh_paging *p,
		    sh_u32 cr3);

#endif /* BT86_SHADOW_WALK_H */
