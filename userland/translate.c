// SPDX-License-Identifier: GPL-2.0
/*
 * "bt86 translate": load a guest image as "bt86 run" would, run the binary
 * translator (bt/, linked in from build/bt/libbt.a) over its code breadth
 * first from the entry point, and print each block: every guest
 * instruction with its address, bytes and class, and below it the
 * translation-cache code made for it, with the map entries that point at
 * each TC address.  The disassembly is objdump's (Zydis is built without
 * its formatter); without objdump, or with --hex, the bytes and Zydis's
 * mnemonic.
 *
 * The cache sits where the monitor puts vCPU 0's (kmod/btarea.c): the
 * per-vCPU page (%gs) at 0xffc00000, the TC at 0xffc10000.  The guest runs
 * as multiboot starts it: flat 32-bit CS (selector 0x08), paging off, so
 * linear addresses are guest-physical.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "bt.h"
#include "classify.h"
#include "decode.h"
#include "loader.h"
#include "translate.h"
#include "util.h"
#include <Zydis/Mnemonic.h>

#define T_WINDOW_LOW 0xffc00000u
#define T_TC_LOW     0xffc10000u
#define T_TC_SIZE    (2u << 20) /* as the monitor's (kmod/xdata.h) */
#define T_MAX_MAP    65536
#define T_MAX_BLOCKS 8192
#define T_CS_SEL     0x08

const char translate__usage[] =
	"usage: bt86 translate --kernel FILE [options]\n"
	"\n"
	"Translate a guest's code with the binary translator, without running\n"
	"it, and print each block: the guest instructions (address, bytes,\n"
	"class) and the translation-cache code made for each, disassembled by\n"
	"objdump, with the map entries at each TC address.  Blocks are\n"
	"translated breadth first from the entry point, following exits,\n"
	"the instruction after a call out, and the return address of calls.\n"
	"\n"
	"  --kernel FILE     the guest: a multiboot ELF kernel\n"
	"  --eip ADDR        start there instead of the entry point\n"
	"  --blocks N        translate N blocks (default 16, at most 4096)\n"
	"  --mem SIZE        guest RAM, as for bt86 run (default 64M)\n"
	"  --hex             no objdump: bytes and mnemonics only ($OBJDUMP\n"
	"                    names the objdump to use, default objdump)\n"
	"  --help            this text\n";

static int parse_u32(const char *name, const char *s, uint32_t min,
		     uint32_t max, uint32_t *v, char *err)
{
	unsigned long long n;
	char *end;

	errno = 0;
	n = strtoull(s, &end, 0);
	if (errno || end == s || *end || *s == '-' || n < min || n > max) {
		options__set_err(err, "%s: '%s' is not a number from %u to %u",
				 name, s, min, max);
		return -1;
	}
	*v = (uint32_t)n;
	return 0;
}

enum options_result translate__parse(int argc, char **argv,
				     struct translate_options *o, char *err)
{
	static const char *const valued[] = { "--kernel", "--eip", "--blocks",
					      "--mem", NULL };
	static const char *const flags[] = { "--hex", NULL };
	static const struct option_spec spec = { "translate", valued, flags };
	struct option_arg a;
	int i;

	memset(o, 0, sizeof(*o));
	o->mem = OPTIONS_MEM_DEFAULT;
	o->blocks = TRANSLATE_BLOCKS_DEFAULT;
	for (i = 1; i < argc; i++) {
		const char *name = a.name, *val;
		enum options_result r;

		r = options__next(&spec, argc, argv, &i, &a, err);
		if (r != OPTIONS_OK)
			return r;
		val = a.val;
		if (!strcmp(name, "--kernel")) {
			o->kernel = val;
		} else if (!strcmp(name, "--eip")) {
			if (parse_u32(name, val, 0, 0xffffffff, &o->eip, err))
				return OPTIONS_ERROR;
			o->have_eip = true;
		} else if (!strcmp(name, "--blocks")) {
			if (parse_u32(name, val, 1, TRANSLATE_BLOCKS_MAX,
				      &o->blocks, err))
				return OPTIONS_ERROR;
		} else if (!strcmp(name, "--mem")) {
			if (options__parse_mem(val, &o->mem, err))
				return OPTIONS_ERROR;
		} else {
			o->hex = true;
		}
	}
	if (!o->kernel) {
		options__set_err(
			err,
			"translate: --kernel FILE is required (see bt86 translate --help)");
		return OPTIONS_ERROR;
	}
	return OPTIONS_OK;
}

/* --- the cache over guest RAM ------------------------------------------- */

struct tr {
	struct guest_ram ram;
	struct bt_cache c;
	struct bt_env env;
	struct bt_key key;
	struct decoded_insn scratch, d;
	bool hex;
	/* objdump's text of the TC, by TC offset (NULL where none) */
	char **tc_text;
};

static bt_u32 fetch(void *opaque, bt_u32 lin, bt_u8 *buf, bt_u32 len)
{
	const struct tr *t = opaque;

	if (lin >= t->ram.size)
		return 0;
	if (len > t->ram.size - lin)
		len = (bt_u32)(t->ram.size - lin);
	memcpy(buf, t->ram.host + lin, len);
	return len;
}

static int tr_init(struct tr *t, uint64_t mem)
{
	struct bt_cache *c = &t->c;

	t->ram.size = mem;
	t->ram.host = mmap(NULL, mem, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (t->ram.host == MAP_FAILED) {
		t->ram.host = NULL;
		pr_msg("translate: cannot map %llu bytes of guest RAM: %s",
		       (unsigned long long)mem, strerror(errno));
		return -1;
	}
	c->tc = calloc(1, T_TC_SIZE);
	c->window = calloc(1, BT_VP_SIZE);
	c->map = calloc(T_MAX_MAP, sizeof(*c->map));
	c->blocks = calloc(T_MAX_BLOCKS, sizeof(*c->blocks));
	c->hash = calloc(BT_HASH_SIZE, sizeof(*c->hash));
	c->page_hash = calloc(BT_PAGE_HASH, sizeof(*c->page_hash));
	if (!c->tc || !c->window || !c->map || !c->blocks || !c->hash ||
	    !c->page_hash) {
		pr_msg("translate: out of memory");
		return -1;
	}
	c->tc_low = T_TC_LOW;
	c->tc_size = T_TC_SIZE;
	c->window_low = T_WINDOW_LOW;
	c->max_map = T_MAX_MAP;
	c->max_blocks = T_MAX_BLOCKS;
	c->scratch = &t->scratch;
	t->env.opaque = t;
	t->env.fetch = fetch;
	bt_cache_init(c);
	return 0;
}

static void tr_free(struct tr *t)
{
	size_t i;

	if (t->ram.host)
		munmap(t->ram.host, t->ram.size);
	if (t->tc_text)
		for (i = 0; i < t->c.tc_used; i++)
			free(t->tc_text[i]);
	free(t->tc_text);
	free(t->c.tc);
	free(t->c.window);
	free(t->c.map);
	free(t->c.blocks);
	free(t->c.hash);
	free(t->c.page_hash);
}

/* --- objdump ---------------------------------------------------------------- */

/*
 * Disassembles n bytes that run at vma with objdump; calls back with each
 * instruction's address and text.  -1 if objdump could not be run.
 */
static int objdump(const uint8_t *bytes, size_t n, uint32_t vma,
		   void (*line)(void *arg, uint32_t addr, const char *text),
		   void *arg)
{
	const char *prog = getenv("OBJDUMP");
	char path[] = "/tmp/bt86-translate-XXXXXX", cmd[512], buf[512];
	int fd = mkstemp(path), lines = 0;
	FILE *p;

	if (fd < 0)
		return -1;
	if (write(fd, bytes, n) != (ssize_t)n) {
		close(fd);
		unlink(path);
		return -1;
	}
	close(fd);
	snprintf(cmd, sizeof(cmd),
		 "'%s' -D -b binary -mi386 -z --insn-width=16 "
		 "--adjust-vma=0x%x '%s' 2>/dev/null",
		 prog && *prog ? prog : "objdump", vma, path);
	p = popen(cmd, "r");
	while (p && fgets(buf, sizeof(buf), p)) {
		/* "  ffc10000:\t65 89 05 10 00 00 00 \tmov    %eax,%gs:0x10" */
		char *end, *text = strchr(buf, '\t');
		unsigned long addr = strtoul(buf, &end, 16);

		if (end == buf || *end != ':' || !text)
			continue;
		text = strchr(text + 1, '\t');
		if (!text)
			continue;
		text++;
		text[strcspn(text, "\n")] = 0;
		while (*text && text[strlen(text) - 1] == ' ')
			text[strlen(text) - 1] = 0;
		line(arg, (uint32_t)addr, text);
		lines++;
	}
	if (!p || pclose(p) != 0 || !lines) {
		unlink(path);
		return -1;
	}
	unlink(path);
	return 0;
}

static void tc_line(void *arg, uint32_t addr, const char *text)
{
	struct tr *t = arg;
	uint32_t off = addr - T_TC_LOW;

	if (off < t->c.tc_used && !t->tc_text[off])
		t->tc_text[off] = strdup(text);
}

/* A block's guest code (and the instruction that stopped it) */
#define GUEST_CODE (BT_MAX_INSNS * 15 + 15)

/* objdump's text for the guest instructions of one block */
struct guest_text {
	uint32_t base, n;
	char *text[GUEST_CODE];
};

static void guest_line(void *arg, uint32_t addr, const char *text)
{
	struct guest_text *g = arg;

	if (addr - g->base < g->n && !g->text[addr - g->base])
		g->text[addr - g->base] = strdup(text);
}

/* --- printing ------------------------------------------------------------- */

static const char *const class_names[] = {
	[CLASS_IDENT] = "IDENT",
	[CLASS_JMP] = "JMP",
	[CLASS_JCC] = "JCC",
	[CLASS_CALL] = "CALL",
	[CLASS_LOOP] = "LOOP",
	[CLASS_RET] = "RET",
	[CLASS_JMP_IND] = "JMP_IND",
	[CLASS_CALL_IND] = "CALL_IND",
	[CLASS_CLI] = "CLI",
	[CLASS_STI] = "STI",
	[CLASS_PUSHF] = "PUSHF",
	[CLASS_CALLOUT] = "CALLOUT",
	[CLASS_STEP] = "STEP",
	[CLASS_POPF] = "POPF",
	[CLASS_PUSH_SREG] = "PUSH_SREG",
};

static const char *const kind_names[] = {
	[BT_MAP_INSN] = "INSN",	      [BT_MAP_EXIT] = "EXIT",
	[BT_MAP_CALLOUT] = "CALLOUT", [BT_MAP_STEP] = "STEP",
	[BT_MAP_STI] = "STI",	      [BT_MAP_IND_MISS] = "IND_MISS",
	[BT_MAP_DEAD] = "DEAD",	      [BT_MAP_LIMIT] = "LIMIT",
};

static void hex(FILE *out, const uint8_t *p, unsigned int n, int width)
{
	unsigned int i;
	int w = 0;

	for (i = 0; i < n; i++)
		w += fprintf(out, "%s%02x", i ? " " : "", p[i]);
	fprintf(out, "%*s", w < width ? width - w : 1, "");
}

static const char *mnemonic(const struct decoded_insn *d)
{
	const char *s = ZydisMnemonicGetString(d->insn.mnemonic);

	return s ? s : "?";
}

/* Is map entry i of block b before TC offset end? */
static bool entry_here(const struct bt_cache *c, const struct bt_block *b,
		       bt_u32 i, bt_u32 end)
{
	return i < b->map_count && c->map[b->map_first + i].tc_off < end;
}

/* The TC instructions in [from, to) of block b, with their map entries. */
static void print_tc(struct tr *t, FILE *out, const struct bt_block *b,
		     bt_u32 from, bt_u32 to, bt_u32 *entry)
{
	const struct bt_cache *c = &t->c;
	bt_u32 off = from, end = b->tc_off + b->tc_len;

	while (off < to) {
		const char *text = t->hex ? NULL : t->tc_text[off];
		unsigned int len = 1;

		if (!decode_insn(c->tc + off, end - off, &t->d)) {
			len = t->d.insn.length;
			if (!text)
				text = mnemonic(&t->d);
		}
		if (!text)
			text = "(bad)";
		fprintf(out, "              %08x  ", c->tc_low + off);
		hex(out, c->tc + off, len, 24);
		fprintf(out, "%-*s",
			entry_here(c, b, *entry, off + len) ? 32 : 0, text);
		for (; entry_here(c, b, *entry, off + len); ++*entry) {
			const struct bt_map *m = &c->map[b->map_first + *entry];

			fprintf(out, " %s%s %08x", m->shadow ? "shadow " : "",
				kind_names[m->kind], m->guest_eip);
		}
		fputc('\n', out);
		off += len;
	}
}

/*
 * How many map entries translate.c makes for an instruction of class c
 * (tests/unit/test-translate.c notices when a rewrite's count changes: the
 * next instruction's code would be printed under this one).
 */
static unsigned int entries_of(enum bt_class c)
{
	switch (c) {
	case CLASS_STI:	    /* INSN, STI (the call out if one waits) */
	case CLASS_PUSHF:   /* INSN, INSN after saving %eax */
	case CLASS_CALL:    /* INSN, INSN for the target after the push */
	case CLASS_LOOP:    /* INSN, INSN for the taken jmp */
	case CLASS_JMP_IND: /* INSN, INSN after saving %eax */
		return 2;
	case CLASS_CALL_IND: /* and INSN before the push */
		return 3;
	case CLASS_POPF: /* INSN, INSN after saving %ecx, its two call outs */
		return 4;
	default:
		return 1;
	}
}

/*
 * One block.  Each guest instruction's translation starts at its first
 * map entry (for a JMP, the one for its target) and runs to the next
 * instruction's; after the last, the instruction that stopped the block
 * (a CALLOUT or STEP entry) or the fall-through jmp; then the exit stubs.
 */
static void print_block(struct tr *t, FILE *out, unsigned int n,
			const struct bt_block *b)
{
	const struct bt_cache *c = &t->c;
	const struct bt_map *map = &c->map[b->map_first];
	bt_u32 eip = b->eip, main_end = b->tc_off + b->tc_len;
	bt_u32 i, j = 0, entry = 0, glen;
	static struct guest_text g;
	static uint8_t code[GUEST_CODE];

	for (i = 0; i < b->map_count; i++)
		if (map[i].kind == BT_MAP_EXIT) {
			main_end = map[i].tc_off;
			break;
		}
	fprintf(out,
		"block %u: guest %08x, %u insns, linear %08x-%08x; TC %08x, "
		"%u bytes, %u map entries\n",
		n, b->eip, b->ninsns, b->lin_start, b->lin_end - 1,
		bt_block_addr(c, b), b->tc_len, b->map_count);
	/* the guest's code, with the instruction that stopped the block */
	memset(&g, 0, sizeof(g));
	g.base = b->eip;
	glen = fetch(t, t->key.cs_base + b->eip, code,
		     b->lin_end - b->lin_start + 15 < sizeof(code)
			     ? b->lin_end - b->lin_start + 15
			     : sizeof(code));
	g.n = glen;
	if (!t->hex && glen)
		objdump(code, glen, b->eip, guest_line, &g);
	for (i = 0; i <= b->ninsns && j < b->map_count; i++) {
		bt_u32 k, next_tc = main_end, off = eip - b->eip, len = 0;
		enum bt_class cls = CLASS_STEP;
		const char *text = NULL;

		if (map[j].kind == BT_MAP_EXIT)
			break;
		if (off < glen && !decode_insn(code + off, glen - off, &t->d)) {
			len = t->d.insn.length;
			cls = bt_classify(&t->d);
			text = mnemonic(&t->d);
		}
		if (i == b->ninsns && map[j].kind == BT_MAP_INSN) {
			fprintf(out, "  (fall-through to %08x)\n", eip);
		} else {
			if (i == b->ninsns)
				cls = map[j].kind == BT_MAP_CALLOUT
					      ? CLASS_CALLOUT
					      : CLASS_STEP;
			if (off < GUEST_CODE && g.text[off])
				text = g.text[off];
			fprintf(out, "  %08x  ", eip);
			hex(out, code + off, len ? len : (off < glen), 24);
			fprintf(out, "%-9s %s\n", class_names[cls],
				text ? text : "(cannot decode)");
		}
		k = j + (i < b->ninsns ? entries_of(cls) : 1);
		if (k < b->map_count && map[k].tc_off < main_end)
			next_tc = map[k].tc_off;
		print_tc(t, out, b, map[j].tc_off, next_tc, &entry);
		j = k;
		eip += len;
	}
	if (main_end < b->tc_off + b->tc_len) {
		fprintf(out, "  exit stubs\n");
		print_tc(t, out, b, main_end, b->tc_off + b->tc_len, &entry);
	}
	for (i = 0; i < GUEST_CODE; i++)
		free(g.text[i]);
	fputc('\n', out);
}

/* Decodes the guest instruction at CS:eip into t->d; its length or 0. */
static bt_u32 guest_insn(struct tr *t, bt_u32 eip)
{
	bt_u8 b[15];
	bt_u32 got = fetch(t, t->key.cs_base + eip, b, sizeof(b));

	return got && !decode_insn(b, got, &t->d) ? t->d.insn.length : 0;
}

/* Does the guest instruction in t->d go on to the next one, eventually? */
static bool returns_to_next(const struct tr *t)
{
	switch (t->d.insn.meta.category) {
	case ZYDIS_CATEGORY_UNCOND_BR:
	case ZYDIS_CATEGORY_COND_BR:
	case ZYDIS_CATEGORY_RET:
	case ZYDIS_CATEGORY_SYSCALL:
	case ZYDIS_CATEGORY_SYSRET:
		return false;
	default:
		return t->d.insn.mnemonic != ZYDIS_MNEMONIC_UD0 &&
		       t->d.insn.mnemonic != ZYDIS_MNEMONIC_UD1 &&
		       t->d.insn.mnemonic != ZYDIS_MNEMONIC_UD2;
	}
}

/*
 * Where the guest goes after block b, as far as the tool follows it: the
 * targets of its exits; the next instruction after a call out or a STEP
 * that comes back (the monitor goes on there); the return address of a
 * call (as if it returned).  Appended to queue[tail..cap).
 */
static bt_u32 successors(struct tr *t, const struct bt_block *b, bt_u32 *queue,
			 bt_u32 tail, bt_u32 cap)
{
	const struct bt_map *map = &t->c.map[b->map_first];
	bt_u32 i, eip = b->eip, len = 0;

	for (i = 0; i < b->map_count && tail < cap; i++)
		if (map[i].kind == BT_MAP_EXIT)
			queue[tail++] = map[i].guest_eip;
	for (i = 0; i < b->map_count && tail < cap; i++) {
		if (map[i].kind != BT_MAP_CALLOUT && map[i].kind != BT_MAP_STEP)
			continue;
		len = guest_insn(t, map[i].guest_eip);
		if (len && returns_to_next(t))
			queue[tail++] = map[i].guest_eip + len;
	}
	/* the last translated instruction: a call? */
	for (len = 0, i = 0; i < b->ninsns; i++) {
		eip += len;
		len = guest_insn(t, eip);
		if (!len)
			return tail;
	}
	if (b->ninsns && tail < cap &&
	    t->d.insn.meta.category == ZYDIS_CATEGORY_CALL)
		queue[tail++] = eip + len;
	return tail;
}

int translate__run(const struct translate_options *o, FILE *out)
{
	struct boot_args args = { .kernel = o->kernel };
	struct tr t = { .hex = o->hex };
	char err[LOADER_ERR_LEN];
	struct boot_cpu cpu;
	bt_u32 *queue = NULL, head = 0, tail = 0, cap, i;
	unsigned int n = 0;
	int status = EXIT_LAUNCHER;

	if (tr_init(&t, o->mem))
		goto out;
	if (loader__load(&t.ram, &args, &cpu, err)) {
		pr_msg("%s", err);
		goto out;
	}
	t.key = (struct bt_key){ .cs_base = 0,
				 .cs_limit = 0xffffffff,
				 .cs_sel = T_CS_SEL };
	cap = 4 * o->blocks + 4;
	queue = calloc(cap, sizeof(*queue));
	if (!queue) {
		pr_msg("translate: out of memory");
		goto out;
	}
	queue[tail++] = o->have_eip ? o->eip : cpu.eip;
	while (head < tail && n < o->blocks) {
		struct bt_block *b;
		bt_u32 eip = queue[head++];
		int ret;

		if (bt_lookup(&t.c, &t.key, eip))
			continue;
		ret = bt_translate(&t.c, &t.env, &t.key, eip, &b);
		if (ret) {
			pr_msg("translate: bt_translate(%08x) failed (%d)", eip,
			       ret);
			goto out;
		}
		n++;
		tail = successors(&t, b, queue, tail, cap);
	}
	/*
	 * One objdump over all the blocks: they follow each other, each
	 * ending on an instruction boundary (not so the prologue's padding).
	 */
	t.tc_text = calloc(t.c.tc_used, sizeof(*t.tc_text));
	if (!t.tc_text) {
		pr_msg("translate: out of memory");
		goto out;
	}
	if (!t.hex && n &&
	    objdump(t.c.tc + t.c.prologue_end, t.c.tc_used - t.c.prologue_end,
		    t.c.tc_low + t.c.prologue_end, tc_line, &t) < 0) {
		pr_msg("translate: objdump did not run (set OBJDUMP, or use "
		       "--hex): bytes and mnemonics only");
		t.hex = true;
	}
	fprintf(out,
		"%s: entry %08x, CS %04x base 0 limit ffffffff; window (%%gs) "
		"%08x, TC %08x (indirect lookup %08x, its miss call out "
		"%08x)\n%u blocks, %u guest instructions, %u TC bytes\n\n",
		o->kernel, cpu.eip, T_CS_SEL, t.c.window_low, t.c.tc_low,
		t.c.tc_low + t.c.ind_lookup, t.c.tc_low + t.c.ind_miss, n,
		(unsigned int)t.c.stats.insns, t.c.tc_used - t.c.prologue_end);
	for (i = 0; i < t.c.nblocks; i++)
		print_block(&t, out, i, &t.c.blocks[i]);
	status = 0;
out:
	free(queue);
	tr_free(&t);
	return status;
}
