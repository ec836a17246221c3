// SPDX-License-Identifier: GPL-2.0
/*
 * The guest's page-table walker (walk.h).
 *
 * Accessed and dirty flags are set where QEMU's TCG sets them (the
 * reference every test guest is compared with) and where SDM 3A §4.8 says
 * a CPU "uses" an entry: the A flag of an entry that references a page
 * table as soon as the walk goes through it, even if the walk faults
 * further down; the A flag of the entry that maps the page (and its D flag
 * for a write) only when the access is allowed.  An entry the walk cannot
 * read (outside guest RAM) reads as not present.
 */
#include "walk.h"

#define PAE_ADDR    0x000ffffffffff000ULL
#define PAE_ADDR_2M 0x000fffffffe00000ULL
#define PAE_PS_RSVD 0x00000000001fe000ULL /* bits 20:13 of a 2 MiB PDE */
#define PDPTE_RSVD  0x00000000000001e6ULL /* bits 8:5 and 2:1 */
#define PSE_RSVD    (1u << 21)		  /* PSE-36: bit 21 of a 4 MiB PDE */
#define PSE_HIGH(e) ((sh_u64)(((e) >> 13) & 0xff) << 32) /* bits 39:32 */

/* A fault: the error code describes the access (SDM 3A §4.7). */
static bool fault(const struct sh_paging *p, unsigned int acc, sh_u32 bits,
		  struct sh_walk *w)
{
	bool pae_nx = (p->cr4 & SH_CR4_PAE) && p->nxe;

	w->error = bits | (acc & (SH_PF_W | SH_PF_U));
	if ((acc & SH_ACC_FETCH) && (pae_nx || (p->cr4 & SH_CR4_SMEP)))
		w->error |= SH_PF_I;
	return false;
}

static sh_u64 read_entry(const struct sh_walk_env *env, sh_u64 gpa,
			 unsigned int len)
{
	sh_u64 v = 0;

	if (!env->read(env->opaque, gpa, &v, len))
		return 0;
	return v;
}

static void set_flags(const struct sh_walk_env *env, unsigned int acc,
		      sh_u64 gpa, sh_u64 *entry, sh_u32 bits)
{
	if ((acc & SH_ACC_PEEK) || (*entry & bits) == bits)
		return;
	env->set_bits(env->opaque, gpa, bits);
	*entry |= bits;
}

/* The rights of the translation against the access (SDM 3A §4.6). */
static bool allowed(const struct sh_paging *p, unsigned int acc,
		    const struct sh_walk *w)
{
	bool write = acc & SH_ACC_WRITE, fetch = acc & SH_ACC_FETCH;

	if (fetch && w->nx)
		return false;
	if (acc & SH_ACC_USER)
		return w->user && (!write || w->write);
	/* Supervisor. */
	if (write && !w->write && (p->cr0 & SH_CR0_WP))
		return false;
	if (w->user && fetch && (p->cr4 & SH_CR4_SMEP))
		return false;
	if (w->user && !fetch && (p->cr4 & SH_CR4_SMAP) && !(acc & SH_ACC_AC))
		return false;
	return true;
}

/* The leaf's rights are in; check them and set its A and D flags. */
static bool finish(const struct sh_walk_env *env, const struct sh_paging *p,
		   unsigned int acc, struct sh_walk *w, sh_u64 *leaf,
		   sh_u64 leaf_gpa)
{
	w->global = (*leaf & GPTE_G) && (p->cr4 & SH_CR4_PGE);
	if (!allowed(p, acc, w))
		return fault(p, acc, SH_PF_P, w);
	set_flags(env, acc, leaf_gpa, leaf,
		  GPTE_A | ((acc & SH_ACC_WRITE) ? GPTE_D : 0));
	return true;
}

/* 32-bit paging (SDM 3A §4.3). */
static bool walk32(const struct sh_walk_env *env, const struct sh_paging *p,
		   sh_u32 lin, unsigned int acc, struct sh_walk *w)
{
	w->pde_gpa = (p->cr3 & GPTE_ADDR) + (lin >> 22) * 4;
	w->pde = read_entry(env, w->pde_gpa, 4);
	if (!(w->pde & GPTE_P))
		return fault(p, acc, 0, w);
	if ((w->pde & GPTE_PS) && (p->cr4 & SH_CR4_PSE)) {
		if (w->pde & PSE_RSVD)
			return fault(p, acc, SH_PF_P | SH_PF_RSVD, w);
		w->large = 1;
		w->pte = w->pde;
		w->pte_gpa = w->pde_gpa;
		w->gpa = ((w->pde & 0xffc00000u) | PSE_HIGH(w->pde)) +
			 (lin & 0x3fffff);
		w->write = !!(w->pde & GPTE_W);
		w->user = !!(w->pde & GPTE_U);
		if (!finish(env, p, acc, w, &w->pte, w->pte_gpa))
			return false;
		w->pde = w->pte;
		return true;
	}
	set_flags(env, acc, w->pde_gpa, &w->pde, GPTE_A);
	w->pte_gpa = (w->pde & GPTE_ADDR) + ((lin >> 12) & 0x3ff) * 4;
	w->pte = read_entry(env, w->pte_gpa, 4);
	if (!(w->pte & GPTE_P))
		return fault(p, acc, 0, w);
	w->gpa = (w->pte & GPTE_ADDR) | (lin & 0xfff);
	w->write = !!(w->pde & w->pte & GPTE_W);
	w->user = !!(w->pde & w->pte & GPTE_U);
	return finish(env, p, acc, w, &w->pte, w->pte_gpa);
}

/* PAE paging (SDM 3A §4.4). */
static bool walk_pae(const struct sh_walk_env *env, const struct sh_paging *p,
		     sh_u32 lin, unsigned int acc, struct sh_walk *w)
{
	sh_u64 pdpte = p->pdpte[lin >> 30];
	sh_u64 rsvd = env->rsvd_high | (p->nxe ? 0 : GPTE_NX);

	if (!(pdpte & GPTE_P))
		return fault(p, acc, 0, w);
	w->pde_gpa = (pdpte & PAE_ADDR) + ((lin >> 21) & 511) * 8;
	w->pde = read_entry(env, w->pde_gpa, 8);
	if (!(w->pde & GPTE_P))
		return fault(p, acc, 0, w);
	if (w->pde & GPTE_PS) {
		if (w->pde & (rsvd | PAE_PS_RSVD))
			return fault(p, acc, SH_PF_P | SH_PF_RSVD, w);
		w->large = 1;
		w->pte = w->pde;
		w->pte_gpa = w->pde_gpa;
		w->gpa = (w->pde & PAE_ADDR_2M) + (lin & 0x1fffff);
		w->write = !!(w->pde & GPTE_W);
		w->user = !!(w->pde & GPTE_U);
		w->nx = p->nxe && (w->pde & GPTE_NX);
		if (!finish(env, p, acc, w, &w->pte, w->pte_gpa))
			return false;
		w->pde = w->pte;
		return true;
	}
	if (w->pde & rsvd)
		return fault(p, acc, SH_PF_P | SH_PF_RSVD, w);
	set_flags(env, acc, w->pde_gpa, &w->pde, GPTE_A);
	w->pte_gpa = (w->pde & PAE_ADDR) + ((lin >> 12) & 511) * 8;
	w->pte = read_entry(env, w->pte_gpa, 8);
	if (!(w->pte & GPTE_P))
		return fault(p, acc, 0, w);
	if (w->pte & rsvd)
		return fault(p, acc, SH_PF_P | SH_PF_RSVD, w);
	w->gpa = (w->pte & PAE_ADDR) | (lin & 0xfff);
	w->write = !!(w->pde & w->pte & GPTE_W);
	w->user = !!(w->pde & w->pte & GPTE_U);
	w->nx = p->nxe && ((w->pde | w->pte) & GPTE_NX);
	return finish(env, p, acc, w, &w->pte, w->pte_gpa);
}

bool sh_walk(const struct sh_walk_env *env, const struct sh_paging *p,
	     sh_u32 lin, unsigned int acc, struct sh_walk *w)
{
	w->large = 0;
	w->write = 0;
	w->user = 0;
	w->nx = 0;
	w->global = 0;
	w->error = 0;
	w->pte = 0;
	w->pte_gpa = 0;
	if (p->cr4 & SH_CR4_PAE)
		return walk_pae(env, p, lin, acc, w);
	return walk32(env, p, lin, acc, w);
}

sh_u64 sh_dir_entry(const struct sh_walk_env *env, const struct sh_paging *p,
		    sh_u32 lin, sh_u32 *leaf)
{
	sh_u64 pdpte, pde;

	*leaf = SH_NO_TABLE;
	if (p->cr4 & SH_CR4_PAE) {
		pdpte = p->pdpte[lin >> 30];
		if (!(pdpte & GPTE_P))
			return 0;
		pde = read_entry(
			env, (pdpte & PAE_ADDR) + ((lin >> 21) & 511) * 8, 8);
		if ((pde & GPTE_P) && !(pde & GPTE_PS))
			*leaf = (sh_u32)((pde & PAE_ADDR) >> 12);
		return pde;
	}
	pde = read_entry(env, (p->cr3 & GPTE_ADDR) + (lin >> 22) * 4, 4);
	if ((pde & GPTE_P) && !((pde & GPTE_PS) && (p->cr4 & SH_CR4_PSE)))
		*leaf = (sh_u32)(pde >> 12);
	return pde;
}

bool sh_load_pdptes(const struct sh_walk_env *env, struct sh_paging *p,
		    sh_u32 cr3)
{
	sh_u64 e[4];
	unsigned int i;

	for (i = 0; i < 4; i++) {
		e[i] = read_entry(env, (cr3 & ~0x1fu) + i * 8, 8);
		if ((e[i] & GPTE_P) &&
		    (e[i] & (env->rsvd_high | PDPTE_RSVD | GPTE_NX)))
			return false;
	}
	for (i = 0; i < 4; i++)
		p->pdpte[i] = e[i];
	return true;
}
