/* SPDX-License-Identifier: MIT */
/*
 * report-svg.c - the report as a self-contained SVG flame graph of live
 * bytes by allocation stack, laid out like flamegraph.pl's default: the
 * root ("all", every byte in the graph) is the bottom row, callers below
 * callees, one 16 px row per stack depth, widths proportional to bytes.
 *
 * The stacks are merged into a call tree from their outermost frames: a
 * node is a distinct path of frames, and frames are the same when they
 * have the same function and module basename (a frame without either is
 * its pc), so call sites within a function share a node; a stack without
 * frames only widens the root.  Siblings are ordered by function name,
 * then module.  Each node is one <g> holding a <title> (the tooltip,
 * "function (module) - N bytes, P%" with an em dash, P of the graph's
 * bytes), one <rect> and, when 3 or more characters fit at about 7 px
 * each, a <text> label cut with "..".  Before the nodes come one
 * background <rect> and a two-line header (pid, command, totals).  Colors
 * are a hash of the label into flamegraph.pl's warm palette, so they are
 * the same from run to run.
 *
 * Text is XML-escaped; bytes that are not valid UTF-8, or characters XML
 * 1.0 cannot carry (control characters), are written as '?'.  Numbers are
 * written without printf's floating-point conversions, so the output does
 * not depend on the locale.  No JavaScript: no zoom or search.  Only the
 * stacks in the model are drawn (after --top).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "leaktrap/report.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

enum {
	SVG_WIDTH = 1200,     /* image width, px */
	SVG_XPAD = 10,        /* left and right margins */
	SVG_TOP = 56,         /* room for the header above the deepest row */
	SVG_BOTTOM = 34,      /* room below the root row */
	SVG_ROW = 16,         /* a 15 px frame and a 1 px gap */
	SVG_FONT = 12,
	SVG_CHAR_PX = 7,      /* approximate character width at SVG_FONT */
	SVG_LABEL_MAX = 300,  /* bytes for a "[module]" or "0xpc" label */
};

struct svg_node {
	const struct report_frame *frame;  /* NULL for the root, "all" */
	unsigned depth;                    /* 0: the root */
	uint64_t x;                        /* bytes left of the node */
	uint64_t bytes;                    /* of the stacks through it */
};

struct svg_tree {
	struct svg_node *nodes;  /* preorder: nodes[0] is the root */
	size_t n;
	unsigned depth;          /* of the deepest node */
};

/* ---- frames and the call tree ------------------------------------------ */

static const char *opt(const char *s)
{
	return s && s[0] ? s : NULL;
}

static const char *module_of(const struct report_frame *f)
{
	const char *slash;

	if (!opt(f->module))
		return NULL;
	slash = strrchr(f->module, '/');
	return slash && slash[1] ? slash + 1 : f->module;
}

/* strcmp, with NULL ordered after every string. */
static int cmp_opt(const char *a, const char *b)
{
	if (!a || !b)
		return (a == NULL) - (b == NULL);
	return strcmp(a, b);
}

/* Order frames by function, then module basename, then (for frames with
 * neither) pc.  0: the frames make the same node. */
static int cmp_frame(const struct report_frame *a,
		     const struct report_frame *b)
{
	int r = cmp_opt(opt(a->function), opt(b->function));

	if (r == 0)
		r = cmp_opt(module_of(a), module_of(b));
	if (r != 0 || opt(a->function) || module_of(a))
		return r;
	return (a->pc > b->pc) - (a->pc < b->pc);
}

/* The k-th frame of rs counted from the outermost. */
static const struct report_frame *outer(const struct report_stack *rs,
					unsigned k)
{
	return &rs->frames[rs->n_frames - 1 - k];
}

/* How many outermost frames a and b have in common. */
static unsigned common_prefix(const struct report_stack *a,
			      const struct report_stack *b)
{
	unsigned n = a->n_frames < b->n_frames ? a->n_frames : b->n_frames;
	unsigned k = 0;

	while (k < n && cmp_frame(outer(a, k), outer(b, k)) == 0)
		k++;
	return k;
}

/* qsort order of stack pointers: frame by frame from the outermost. */
static int cmp_stack(const void *pa, const void *pb)
{
	const struct report_stack *a = *(const struct report_stack *const *)pa;
	const struct report_stack *b = *(const struct report_stack *const *)pb;
	unsigned k = common_prefix(a, b);

	if (k < a->n_frames && k < b->n_frames)
		return cmp_frame(outer(a, k), outer(b, k));
	return (a->n_frames > b->n_frames) - (a->n_frames < b->n_frames);
}

/* Add rs, which sorts after prev (NULL: rs is the first), to t: the nodes
 * of the prefix they share grow, the others are new.  open[d] is the node
 * at depth d on prev's path; it is updated to rs's. */
static void tree_add(struct svg_tree *t, const struct report_stack *prev,
		     const struct report_stack *rs, size_t *open)
{
	unsigned keep = prev ? common_prefix(prev, rs) : 0;
	uint64_t x = t->nodes[0].bytes;

	for (unsigned d = 0; d <= keep; d++)
		t->nodes[open[d]].bytes += rs->bytes;
	for (unsigned d = keep + 1; d <= rs->n_frames; d++) {
		open[d] = t->n;
		t->nodes[t->n++] = (struct svg_node){ .frame = outer(rs, d - 1),
			.depth = d, .x = x, .bytes = rs->bytes };
	}
	if (rs->n_frames > t->depth)
		t->depth = rs->n_frames;
}

/* Build the call tree of rep's stacks into *t (nodes to be freed).
 * Returns 0 or -ENOMEM. */
static int tree_build(const struct report *rep, struct svg_tree *t)
{
	size_t frames = 0, deepest = 0, n = rep->n_stacks;
	const struct report_stack **order = calloc(n ? n : 1, sizeof(*order));
	size_t *open;
	int ok;

	for (size_t i = 0; i < n; i++) {
		frames += rep->stacks[i].n_frames;
		if (rep->stacks[i].n_frames > deepest)
			deepest = rep->stacks[i].n_frames;
	}
	*t = (struct svg_tree){ .nodes = calloc(frames + 1, sizeof(*t->nodes)),
				.n = 1 };
	open = calloc(deepest + 1, sizeof(*open));
	ok = order && t->nodes && open;
	if (ok) {
		for (size_t i = 0; i < n; i++)
			order[i] = &rep->stacks[i];
		qsort(order, n, sizeof(*order), cmp_stack);
		for (size_t i = 0; i < n; i++)
			tree_add(t, i ? order[i - 1] : NULL, order[i], open);
	}
	free(order);
	free(open);
	return ok ? 0 : -ENOMEM;
}

/* ---- XML text ----------------------------------------------------------- */

/* Lead bytes of the multibyte UTF-8 sequences, with the range allowed for
 * the second byte (Unicode 3-7: no overlong forms, no surrogates). */
static const struct {
	unsigned char first, last, len, lo, hi;
} utf8_leads[] = {
	{ 0xc2, 0xdf, 2, 0x80, 0xbf }, { 0xe0, 0xe0, 3, 0xa0, 0xbf },
	{ 0xe1, 0xec, 3, 0x80, 0xbf }, { 0xed, 0xed, 3, 0x80, 0x9f },
	{ 0xee, 0xef, 3, 0x80, 0xbf }, { 0xf0, 0xf0, 4, 0x90, 0xbf },
	{ 0xf1, 0xf3, 4, 0x80, 0xbf }, { 0xf4, 0xf4, 4, 0x80, 0x8f },
};

/* The length of the character at s if XML 1.0 can carry it, else 0 (an
 * invalid sequence, a control character, U+FFFE or U+FFFF). */
static size_t xml_char_len(const unsigned char *s)
{
	if (s[0] < 0x80)
		return s[0] >= 0x20;
	for (size_t i = 0; i < ARRAY_SIZE(utf8_leads); i++) {
		if (s[0] < utf8_leads[i].first || s[0] > utf8_leads[i].last)
			continue;
		if (s[1] < utf8_leads[i].lo || s[1] > utf8_leads[i].hi)
			return 0;
		for (size_t k = 2; k < utf8_leads[i].len; k++)
			if ((s[k] & 0xc0) != 0x80)
				return 0;
		if (s[0] == 0xef && s[1] == 0xbf && s[2] >= 0xbe)
			return 0;
		return utf8_leads[i].len;
	}
	return 0;
}

/* Characters in s as put_xml() counts them. */
static size_t xml_chars(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = 0;

	for (; *p; n++) {
		size_t len = xml_char_len(p);

		p += len ? len : 1;
	}
	return n;
}

/* Write the first max characters of s as XML text or attribute value. */
static void put_xml(const char *s, size_t max, FILE *out)
{
	static const char *const entity[128] = { ['&'] = "&amp;",
		['<'] = "&lt;", ['>'] = "&gt;", ['"'] = "&quot;",
		['\''] = "&apos;" };
	const unsigned char *p = (const unsigned char *)s;

	for (; *p && max > 0; max--) {
		size_t len = xml_char_len(p);

		if (len == 0)
			fputc('?', out);
		else if (len == 1 && entity[*p])
			fputs(entity[*p], out);
		else
			fwrite(p, 1, len, out);
		p += len ? len : 1;
	}
}

/* v (>= 0) with two decimals, whatever the locale's decimal point. */
static void put_num(double v, FILE *out)
{
	uint64_t hundredths = (uint64_t)(v * 100 + 0.5);

	fprintf(out, "%" PRIu64 ".%02u", hundredths / 100,
		(unsigned)(hundredths % 100));
}

/* ---- drawing ------------------------------------------------------------ */

static unsigned svg_height(const struct svg_tree *t)
{
	return SVG_TOP + (t->depth + 1) * SVG_ROW + SVG_BOTTOM;
}

static double px_per_byte(const struct svg_tree *t)
{
	uint64_t total = t->nodes[0].bytes;

	return total ? (double)(SVG_WIDTH - 2 * SVG_XPAD) / (double)total : 0;
}

/* The node's label: "all", the function, "[module]" or "0xpc"; buf
 * (SVG_LABEL_MAX bytes) holds the last two. */
static const char *node_label(const struct svg_node *nd, char *buf)
{
	const struct report_frame *f = nd->frame;

	if (!f)
		return "all";
	if (opt(f->function))
		return f->function;
	if (module_of(f))
		snprintf(buf, SVG_LABEL_MAX, "[%s]", module_of(f));
	else
		snprintf(buf, SVG_LABEL_MAX, "0x%" PRIx64, f->pc);
	return buf;
}

static void put_title(const struct svg_node *nd, const char *label,
		      uint64_t total, FILE *out)
{
	fputs("<title>", out);
	put_xml(label, SIZE_MAX, out);
	if (nd->frame && opt(nd->frame->function) && module_of(nd->frame)) {
		fputs(" (", out);
		put_xml(module_of(nd->frame), SIZE_MAX, out);
		fputc(')', out);
	}
	fprintf(out, " \xe2\x80\x94 %" PRIu64 " %s, ", nd->bytes,
		nd->bytes == 1 ? "byte" : "bytes");
	put_num(total ? 100.0 * (double)nd->bytes / (double)total : 0, out);
	fputs("%</title>", out);
}

/* A color from flamegraph.pl's "hot" palette, chosen by an FNV-1a hash of
 * the label. */
static void put_color(const char *label, FILE *out)
{
	uint32_t h = 2166136261u;

	for (const unsigned char *p = (const unsigned char *)label; *p; p++)
		h = (h ^ *p) * 16777619u;
	fprintf(out, "rgb(%u,%u,%u)", 205 + h % 51, (h >> 8) % 231,
		(h >> 16) % 56);
}

static void put_rect(double x, unsigned y, double width, const char *label,
		     FILE *out)
{
	fputs("<rect x=\"", out);
	put_num(x, out);
	fprintf(out, "\" y=\"%u\" width=\"", y);
	put_num(width, out);
	fprintf(out, "\" height=\"%d\" rx=\"2\" ry=\"2\" fill=\"", SVG_ROW - 1);
	put_color(label, out);
	fputs("\"/>", out);
}

/* The label, cut to what fits in width px with 3 px padding each side;
 * nothing if fewer than 3 characters fit. */
static void put_label(double x, unsigned y, double width, const char *label,
		      FILE *out)
{
	size_t fit = width > 6 ? (size_t)((width - 6) / SVG_CHAR_PX) : 0;
	size_t n = xml_chars(label);

	if (fit < 3)
		return;
	fputs("<text x=\"", out);
	put_num(x + 3, out);
	fprintf(out, "\" y=\"%u\">", y + SVG_FONT - 1);
	put_xml(label, n > fit ? fit - 2 : n, out);
	fputs(n > fit ? "..</text>" : "</text>", out);
}

static void put_node(const struct svg_tree *t, const struct svg_node *nd,
		     FILE *out)
{
	char buf[SVG_LABEL_MAX];
	const char *label = node_label(nd, buf);
	double x = SVG_XPAD + (double)nd->x * px_per_byte(t);
	double width = (double)nd->bytes * px_per_byte(t);
	unsigned y = svg_height(t) - SVG_BOTTOM - (nd->depth + 1) * SVG_ROW;

	fputs("<g>", out);
	put_title(nd, label, t->nodes[0].bytes, out);
	put_rect(x, y, width, label, out);
	put_label(x, y, width, label, out);
	fputs("</g>\n", out);
}

static void put_subtitle(const struct report *rep, const struct svg_tree *t,
			 FILE *out)
{
	const struct ledger_totals *tot = &rep->totals;

	fprintf(out, "<text x=\"%d\" y=\"44\">pid %d (", SVG_XPAD, rep->pid);
	put_xml(rep->command ? rep->command : "?", SIZE_MAX, out);
	fprintf(out, "): %" PRIu64 " allocs, %" PRIu64 " frees, %" PRIu64
		" live blocks (%" PRIu64 " bytes); graph: %u stacks, %" PRIu64
		" bytes", tot->allocs, tot->frees, tot->live_blocks,
		tot->live_bytes, rep->n_stacks, t->nodes[0].bytes);
	if (rep->total_stacks > rep->n_stacks)
		fprintf(out, " (the top %u of %u)", rep->n_stacks,
			rep->total_stacks);
	fputs("</text>\n", out);
}

static void put_header(const struct report *rep, const struct svg_tree *t,
		       FILE *out)
{
	unsigned h = svg_height(t);

	fprintf(out, "<?xml version=\"1.0\" encoding=\"UTF-8\" "
		"standalone=\"no\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\""
		" version=\"1.1\" width=\"%d\" height=\"%u\" "
		"viewBox=\"0 0 %d %u\" font-family=\"Verdana, sans-serif\" "
		"font-size=\"%d\">\n",
		SVG_WIDTH, h, SVG_WIDTH, h, SVG_FONT);
	fprintf(out, "<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%u\" "
		"fill=\"#f8f8f0\"/>\n", SVG_WIDTH, h);
	fprintf(out, "<text x=\"%d\" y=\"24\" font-size=\"17\" "
		"text-anchor=\"middle\">leaktrap: live bytes by allocation "
		"stack</text>\n", SVG_WIDTH / 2);
	put_subtitle(rep, t, out);
}

int report_write_svg(const struct report *rep, FILE *out)
{
	struct svg_tree t;
	int err = tree_build(rep, &t);

	if (err) {
		free(t.nodes);
		return err;
	}
	put_header(rep, &t, out);
	for (size_t i = 0; i < t.n; i++)
		put_node(&t, &t.nodes[i], out);
	fputs("</svg>\n", out);
	free(t.nodes);
	if (fflush(out) != 0 || ferror(out))
		return -EIO;
	return 0;
}
