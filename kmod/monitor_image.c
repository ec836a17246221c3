// SPDX-License-Identifier: GPL-2.0
/*
 * The monitor image (docs/monitor.md): the blob kmod/monitor_blob.S embeds.
 *
 * At module load, bt86_monitor_init() validates its header and relocation
 * table once (a bad image fails the load) and, unless selftest=0, checks the
 * page-table code and a trial load.  Per VM, bt86_monitor_image_load() gives
 * the VM its own copy: fresh zeroed pages (so bss is zero), the blob copied
 * in, its R_X86_64_RELATIVE relocations applied for the VM's monitor base,
 * and the pages mapped there: header and text RX, rodata R, data and bss RW,
 * all supervisor, never global.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/elf.h>
#include <linux/gfp.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "monitor.h"

static bool selftest = true;
module_param(selftest, bool, 0444);
MODULE_PARM_DESC(
	selftest,
	"check the monitor page tables and image at load (default: on)");

static const struct bt86_monitor_header *bt86_monitor_header(void)
{
	return (const struct bt86_monitor_header *)bt86_monitor_blob;
}

static bool bt86_monitor_fail(const char *what)
{
	pr_err("monitor image: %s; bt86.ko was built wrong\n", what);
	return false;
}

/* The relocation table: checked at load by bt86_monitor_image_check(). */
static const Elf64_Rela *bt86_monitor_rela(unsigned long *n)
{
	const struct bt86_monitor_header *h = bt86_monitor_header();

	*n = (h->rela_end - h->rela_start) / sizeof(Elf64_Rela);
	return (const Elf64_Rela *)(bt86_monitor_blob + h->rela_start);
}

static bool bt86_monitor_check_header(void)
{
	const struct bt86_monitor_header *h = bt86_monitor_header();
	size_t blob_size = bt86_monitor_blob_end - bt86_monitor_blob;

	BUILD_BUG_ON(sizeof(*h) != 80); /* as monitor/header.S */
	BUILD_BUG_ON(sizeof(BT86_MONITOR_MAGIC) != sizeof(h->magic));
	if (blob_size < sizeof(*h))
		return bt86_monitor_fail("shorter than its header");
	if (memcmp(h->magic, BT86_MONITOR_MAGIC, sizeof(h->magic)))
		return bt86_monitor_fail("bad magic");
	if (h->version != BT86_MONITOR_VERSION)
		return bt86_monitor_fail("unknown version");
	if (h->header_size != sizeof(*h))
		return bt86_monitor_fail("bad header size");
	if (h->file_size > blob_size || h->file_size < sizeof(*h))
		return bt86_monitor_fail("file size does not match the blob");
	if (!PAGE_ALIGNED(h->mem_size) || h->mem_size < h->file_size ||
	    h->mem_size > BT86_MONITOR_MAX_SIZE)
		return bt86_monitor_fail("bad memory size");
	if (!PAGE_ALIGNED(h->text_end) || !PAGE_ALIGNED(h->rodata_end) ||
	    h->text_end > h->rodata_end || h->rodata_end > h->mem_size)
		return bt86_monitor_fail("bad section bounds");
	if (h->entry < sizeof(*h) || h->entry >= h->text_end)
		return bt86_monitor_fail("entry point outside the text");
	if (h->rela_start > h->rela_end || h->rela_end > h->file_size ||
	    !IS_ALIGNED(h->rela_start, 8) ||
	    (h->rela_end - h->rela_start) % sizeof(Elf64_Rela))
		return bt86_monitor_fail("bad relocation table bounds");
	if (!IS_ALIGNED(h->reloc_probe, 8) || h->reloc_probe < h->rodata_end ||
	    h->reloc_probe > h->file_size - 8)
		return bt86_monitor_fail("bad relocation probe");
	return true;
}

/* Every relocation is RELATIVE and patches a u64 inside the file. */
static bool bt86_monitor_check_rela(void)
{
	const struct bt86_monitor_header *h = bt86_monitor_header();
	const Elf64_Rela *rela;
	unsigned long i, n;

	rela = bt86_monitor_rela(&n);
	for (i = 0; i < n; i++) {
		if (ELF64_R_TYPE(rela[i].r_info) != R_X86_64_RELATIVE ||
		    ELF64_R_SYM(rela[i].r_info))
			return bt86_monitor_fail("relocation not RELATIVE");
		if (rela[i].r_offset < sizeof(*h) ||
		    rela[i].r_offset > h->file_size - 8 ||
		    rela[i].r_addend < 0 || rela[i].r_addend > h->mem_size)
			return bt86_monitor_fail("relocation out of bounds");
	}
	return true;
}

/* Called once at module load: 0, or -ENOEXEC if the blob is unusable. */
int bt86_monitor_image_check(void)
{
	if (!bt86_monitor_check_header() || !bt86_monitor_check_rela())
		return -ENOEXEC;
	return 0;
}

static void *bt86_monitor_image_addr(struct bt86_monitor_image *img, u64 offset)
{
	return page_address(img->pages[offset >> PAGE_SHIFT]) +
	       (offset & ~PAGE_MASK);
}

/*
 * Store a relocated address.  Zydis's packed tables put pointers at any
 * byte offset, so the 8 bytes may straddle two of the image's pages.
 */
static void bt86_monitor_image_put64(struct bt86_monitor_image *img, u64 offset,
				     u64 val)
{
	unsigned int i;

	for (i = 0; i < 8; i++)
		*(u8 *)bt86_monitor_image_addr(img, offset + i) = val >>
								  (8 * i);
}

/* The permissions of the image page at @offset. */
static u64 bt86_monitor_page_flags(u64 offset)
{
	const struct bt86_monitor_header *h = bt86_monitor_header();

	if (offset < h->text_end)
		return BT86_PTE_P | BT86_PTE_A;
	if (offset < h->rodata_end)
		return BT86_PTE_P | BT86_PTE_A | BT86_PTE_NX;
	return BT86_PTE_P | BT86_PTE_RW | BT86_PTE_A | BT86_PTE_D | BT86_PTE_NX;
}

/* Frees the pages; the caller unmaps them or frees the mmu as well. */
void bt86_monitor_image_free(struct bt86_monitor_image *img)
{
	unsigned long i;

	if (img->pages)
		for (i = 0; i < img->npages; i++)
			if (img->pages[i])
				__free_page(img->pages[i]);
	kfree(img->pages);
	memset(img, 0, sizeof(*img));
}

/*
 * Gives a VM its copy of the monitor, relocated to and mapped at @base in
 * @mmu.  On failure nothing stays allocated or mapped.
 */
int bt86_monitor_image_load(struct bt86_monitor_image *img,
			    struct bt86_mmu *mmu, u64 base)
{
	const struct bt86_monitor_header *h = bt86_monitor_header();
	unsigned long i, n, mapped = 0;
	const Elf64_Rela *rela;
	u64 off;
	int ret;

	memset(img, 0, sizeof(*img));
	if (!PAGE_ALIGNED(base) || !bt86_mmu_va_canonical(mmu, base) ||
	    !bt86_mmu_va_canonical(mmu, base + h->mem_size - 1) ||
	    base + h->mem_size < base)
		return -EINVAL;

	img->npages = h->mem_size >> PAGE_SHIFT;
	img->pages =
		kcalloc(img->npages, sizeof(*img->pages), GFP_KERNEL_ACCOUNT);
	if (!img->pages)
		goto nomem;
	for (i = 0; i < img->npages; i++) {
		img->pages[i] = alloc_page(GFP_KERNEL_ACCOUNT | __GFP_ZERO);
		if (!img->pages[i])
			goto nomem;
	}

	for (off = 0; off < h->file_size; off += PAGE_SIZE)
		memcpy(bt86_monitor_image_addr(img, off),
		       bt86_monitor_blob + off,
		       min_t(u64, PAGE_SIZE, h->file_size - off));

	/* Bounds checked by bt86_monitor_image_check(). */
	rela = bt86_monitor_rela(&n);
	for (i = 0; i < n; i++)
		bt86_monitor_image_put64(img, rela[i].r_offset,
					 base + rela[i].r_addend);

	for (mapped = 0; mapped < img->npages; mapped++) {
		off = (u64)mapped << PAGE_SHIFT;
		ret = bt86_mmu_map_page(mmu, base + off,
					page_to_pfn(img->pages[mapped]),
					bt86_monitor_page_flags(off));
		if (ret)
			goto fail;
	}
	img->base = base;
	img->entry = base + h->entry;
	return 0;

nomem:
	ret = -ENOMEM;
fail:
	while (mapped--)
		bt86_mmu_unmap_page(mmu, base + ((u64)mapped << PAGE_SHIFT));
	bt86_monitor_image_free(img);
	return ret;
}

/* A trial load into a throwaway mmu: mappings, permissions, relocation. */
static int bt86_monitor_image_selftest(void)
{
	const struct bt86_monitor_header *h = bt86_monitor_header();
	struct bt86_monitor_image img;
	struct bt86_mmu mmu;
	unsigned long i;
	u64 pte, off;
	int ret;

	ret = bt86_mmu_init(&mmu, bt86_host_paging_levels());
	if (ret)
		return ret;
	ret = bt86_monitor_image_load(&img, &mmu, bt86_monitor_base());
	if (ret)
		goto out_mmu;

	ret = -EINVAL;
	for (i = 0; i < img.npages; i++) {
		off = (u64)i << PAGE_SHIFT;
		pte = bt86_mmu_lookup(&mmu, img.base + off);
		if (pte != (((u64)page_to_pfn(img.pages[i]) << PAGE_SHIFT) |
			    bt86_monitor_page_flags(off))) {
			pr_err("monitor self-test: image page %lu maps %#llx\n",
			       i, pte);
			goto out;
		}
	}
	pte = bt86_mmu_lookup(&mmu, img.entry);
	if (bt86_mmu_lookup(&mmu, img.base + h->mem_size) ||
	    bt86_mmu_lookup(&mmu, img.base - PAGE_SIZE) ||
	    (pte & (BT86_PTE_RW | BT86_PTE_US | BT86_PTE_NX)) ||
	    img.entry != img.base + h->entry) {
		pr_err("monitor self-test: bad mapping around the image\n");
		goto out;
	}
	if (*(u64 *)bt86_monitor_image_addr(&img, h->reloc_probe) != img.base) {
		pr_err("monitor self-test: the image was not relocated\n");
		goto out;
	}
	ret = 0;
out:
	bt86_monitor_image_free(&img);
out_mmu:
	bt86_mmu_free(&mmu);
	return ret;
}

/* Module load: the image must be sound; then the optional self-tests. */
int bt86_monitor_init(void)
{
	const struct bt86_monitor_header *h = bt86_monitor_header();
	int ret;

	ret = bt86_monitor_image_check();
	if (ret)
		return ret;
	if (selftest) {
		ret = bt86_mmu_selftest();
		if (!ret)
			ret = bt86_monitor_image_selftest();
		if (ret) {
			pr_err("monitor self-test failed: %d\n", ret);
			return ret;
		}
	}
	pr_info("monitor: %llu KiB image at %#llx, %u-level paging%s\n",
		h->mem_size >> 10, bt86_monitor_base(),
		bt86_host_paging_levels(),
		selftest ? ", self-test passed" : "");
	return 0;
}
