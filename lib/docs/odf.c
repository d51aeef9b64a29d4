/* OpenDocument: ODT, ODP, ODS (content.xml, meta.xml).
 *
 * ODT: text:h headings at their outline level, text:p paragraphs, nested
 * text:list items, headings and items numbered by the outline and list
 * styles, tables as rows, sections and text boxes in order; notes
 * are cited "[n]" and follow the text as "[n] text"; tables of contents and
 * indexes (generated copies of the headings) and tracked deletions are
 * left out.
 * ODP: one record per slide (draw:page): the title frame as the heading,
 * outline frames as list items, tables as rows, then "Notes: ...".
 * ODS: one record per sheet (meta.sheet), rows of cells joined by " | ";
 * repeated empty rows and cells are not expanded. */
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "docs/container.h"
#include "base/record.h"
#include "docs/textdoc.h"
#include "docs/xml.h"

#define ODF_MAX_REPEAT 256 /* repeated non-empty rows or cells written at most */
#define ODF_LEVELS 10

/* A list style's level (text:list-level-style-number or -bullet), or an
 * outline level (text:outline-level-style). */
struct odf_level {
    enum td_numfmt fmt;
    char prefix[16], suffix[16];
    int display; /* text:display-levels: how many levels' numbers are shown */
    long start;
};

struct odf_counters {
    long count[ODF_LEVELS];
    int started[ODF_LEVELS];
};

struct odf_liststyle {
    char *name;
    struct odf_level lv[ODF_LEVELS];
    struct odf_counters last; /* where its last list ended, to continue */
};

struct odf_numbering {
    struct odf_liststyle *styles;
    size_t nstyles;
    struct odf_liststyle outline; /* heading numbers (text:outline-style) */
    struct odf_counters headings;
};

struct odf {
    struct textdoc td;
    struct buf notes; /* "[n] text" blocks */
    int nnotes;
    int list_depth;
    int in_item;
    struct odf_numbering *nb;         /* ODT only, else NULL */
    struct odf_liststyle *list_style; /* of the list being read */
    struct odf_counters list;         /* its counters */
    char item_marker[64];             /* the number of the item begun */
};

/* ---- ODT numbering: list styles and the outline style ---- */

static enum td_numfmt odf_numfmt(const char *v)
{
    if (!v || !*v)
        return TD_NUM_NONE;
    if (!strcmp(v, "a"))
        return TD_NUM_LOWER_LETTER;
    if (!strcmp(v, "A"))
        return TD_NUM_UPPER_LETTER;
    if (!strcmp(v, "i"))
        return TD_NUM_LOWER_ROMAN;
    if (!strcmp(v, "I"))
        return TD_NUM_UPPER_ROMAN;
    return TD_NUM_DECIMAL; /* "1", and scripts' own digits: as numbers */
}

static void odf_level_read(struct odf_liststyle *st, xmlNode *lv)
{
    const char *l = xml_attr(lv, "level");
    int k = l ? atoi(l) - 1 : -1;
    if (k < 0 || k >= ODF_LEVELS)
        return;
    struct odf_level *v = &st->lv[k];
    memset(v, 0, sizeof *v);
    v->fmt = xml_is(lv, "list-level-style-bullet") || xml_is(lv, "list-level-style-image")
        ? TD_NUM_BULLET
        : odf_numfmt(xml_attr(lv, "num-format"));
    snprintf(v->prefix, sizeof v->prefix, "%s",
             xml_attr(lv, "num-prefix") ? xml_attr(lv, "num-prefix") : "");
    snprintf(v->suffix, sizeof v->suffix, "%s",
             xml_attr(lv, "num-suffix") ? xml_attr(lv, "num-suffix") : "");
    const char *d = xml_attr(lv, "display-levels");
    v->display = d ? atoi(d) : 1;
    const char *sv = xml_attr(lv, "start-value");
    v->start = sv ? strtol(sv, NULL, 10) : 1;
    if (v->start < 0 || v->start > 1000000)
        v->start = 1;
}

static void odf_styles_read(struct odf_numbering *nb, xmlNode *n, int depth)
{
    for (xmlNode *c = n ? n->children : NULL; c && depth < 4; c = c->next) {
        if (xml_is(c, "list-style") && xml_attr(c, "name")) {
            nb->styles = xreallocarray(nb->styles, nb->nstyles + 1, sizeof *nb->styles);
            struct odf_liststyle *st = &nb->styles[nb->nstyles++];
            memset(st, 0, sizeof *st);
            st->name = xstrdup(xml_attr(c, "name"));
            for (int k = 0; k < ODF_LEVELS; k++)
                st->lv[k].fmt = TD_NUM_BULLET;
            for (xmlNode *lv = c->children; lv; lv = lv->next)
                if (lv->type == XML_ELEMENT_NODE)
                    odf_level_read(st, lv);
        } else if (xml_is(c, "outline-style")) {
            for (xmlNode *lv = c->children; lv; lv = lv->next)
                if (xml_is(lv, "outline-level-style"))
                    odf_level_read(&nb->outline, lv);
        } else if (xml_is(c, "styles") || xml_is(c, "automatic-styles")) {
            odf_styles_read(nb, c, depth + 1);
        }
    }
}

static struct odf_liststyle *odf_list_style(struct odf_numbering *nb, const char *name)
{
    for (size_t i = 0; nb && name && i < nb->nstyles; i++)
        if (!strcmp(nb->styles[i].name, name))
            return &nb->styles[i];
    return NULL;
}

/* Counts an item or heading at level k (start: its own start value, -1
 * none) and writes its number as LibreOffice shows it ("" for none, "-"
 * for a bullet). */
static void odf_number(const struct odf_liststyle *st, struct odf_counters *c, int k, long start,
                       struct buf *out)
{
    if (k < 0)
        k = 0;
    if (k >= ODF_LEVELS)
        k = ODF_LEVELS - 1;
    const struct odf_level *v = &st->lv[k];
    c->count[k] = start >= 0 ? start : c->started[k] ? c->count[k] + 1 : v->start;
    if (c->count[k] > 1000000)
        c->count[k] = 1000000;
    c->started[k] = 1;
    for (int j = k + 1; j < ODF_LEVELS; j++)
        c->started[j] = 0;
    if (v->fmt == TD_NUM_BULLET) {
        buf_adds(out, "-");
        return;
    }
    if (v->fmt == TD_NUM_NONE)
        return;
    int from = k - (v->display < 1 ? 1 : v->display) + 1;
    if (from < 0)
        from = 0;
    buf_adds(out, v->prefix);
    for (int j = from; j <= k; j++) {
        if (j > from)
            buf_addc(out, '.');
        long val = c->started[j] ? c->count[j] : st->lv[j].start;
        enum td_numfmt f = st->lv[j].fmt == TD_NUM_BULLET || st->lv[j].fmt == TD_NUM_NONE
            ? TD_NUM_DECIMAL
            : st->lv[j].fmt;
        textdoc_format_number(out, val, f);
    }
    buf_adds(out, v->suffix);
}

static void odf_blocks(struct odf *o, xmlNode *n, int depth);

static void odf_inline(struct odf *o, xmlNode *n, int depth)
{
    if (depth > 64)
        return;
    for (xmlNode *c = n->children; c; c = c->next) {
        if (c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE) {
            if (c->content)
                textdoc_texts(&o->td, (const char *)c->content);
            continue;
        }
        if (c->type != XML_ELEMENT_NODE)
            continue;
        const char *name = (const char *)c->name;
        if (!strcmp(name, "s")) {
            textdoc_space(&o->td);
        } else if (!strcmp(name, "tab")) {
            textdoc_space(&o->td);
        } else if (!strcmp(name, "line-break")) {
            textdoc_linebreak(&o->td);
        } else if (!strcmp(name, "note")) {
            char mark[32];
            snprintf(mark, sizeof mark, "[%d]", ++o->nnotes);
            textdoc_texts(&o->td, mark);
            struct odf sub;
            memset(&sub, 0, sizeof sub);
            textdoc_init(&sub.td);
            odf_blocks(&sub, xml_child(c, "note-body") ? xml_child(c, "note-body") : c, depth + 1);
            size_t len;
            char *s = textdoc_finish(&sub.td, &len);
            for (char *p = s; *p; p++)
                if (*p == '\n')
                    *p = ' ';
            if (o->notes.len)
                buf_adds(&o->notes, "\n\n");
            buf_addf(&o->notes, "[%d] %s", o->nnotes, s);
            free(s);
            buf_free(&sub.notes);
        } else if (!strcmp(name, "number") || !strcmp(name, "annotation") ||
                   !strcmp(name, "note-citation") || !strcmp(name, "tracked-changes") ||
                   !strcmp(name, "deletion")) {
            continue;
        } else if (!strcmp(name, "frame") || !strcmp(name, "text-box")) {
            /* a frame anchored in a paragraph: its text box holds blocks */
            odf_blocks(o, c, depth + 1);
        } else {
            odf_inline(o, c, depth + 1); /* span, a, ruby, meta, ... */
        }
    }
}

/* A list's style and counters: a nested list keeps its list's unless it
 * names its own style; a list at the top restarts, unless it continues the
 * last list of its style (text:continue-numbering, text:continue-list). */
static void odf_list_begin(struct odf *o, xmlNode *list)
{
    struct odf_liststyle *st = odf_list_style(o->nb, xml_attr(list, "style-name"));
    if (o->list_depth) {
        if (st)
            o->list_style = st;
        return;
    }
    o->list_style = st;
    const char *cont = xml_attr(list, "continue-numbering");
    if (st && ((cont && !strcmp(cont, "true")) || xml_attr(list, "continue-list")))
        o->list = st->last;
    else
        memset(&o->list, 0, sizeof o->list);
}

/* The number of a heading from the outline style (none for a list header
 * or a level without numbers); a stored text:number wins, being what the
 * writing application showed. */
static void odf_heading_number(struct odf *o, xmlNode *h, int level)
{
    struct buf m = {0};
    const char *hdr = xml_attr(h, "is-list-header");
    if (o->nb && !(hdr && !strcmp(hdr, "true"))) {
        const char *restart = xml_attr(h, "restart-numbering");
        const char *sv = xml_attr(h, "start-value");
        long start = -1;
        if (restart && !strcmp(restart, "true"))
            start = sv ? strtol(sv, NULL, 10) : 1;
        odf_number(&o->nb->outline, &o->nb->headings, level - 1, start, &m);
    }
    xmlNode *stored = xml_child(h, "number");
    if (stored) {
        struct buf t = {0};
        xml_text(stored, &t);
        buf_rtrim(&t);
        if (t.len) {
            buf_free(&m);
            m = t;
        } else {
            buf_free(&t);
        }
    }
    if (m.len && strcmp(m.data, "-"))
        textdoc_marker(&o->td, m.data);
    buf_free(&m);
}

static void odf_table(struct odf *o, xmlNode *table, int depth)
{
    if (xml_is(table, "table"))
        textdoc_table_begin(&o->td);
    for (xmlNode *c = table->children; c; c = c->next) {
        if (xml_is(c, "table-row")) {
            const char *rep = xml_attr(c, "number-rows-repeated");
            long times = rep ? strtol(rep, NULL, 10) : 1;
            if (times < 1)
                times = 1;
            if (times > ODF_MAX_REPEAT)
                times = ODF_MAX_REPEAT;
            for (long t = 0; t < times; t++) {
                textdoc_row_begin(&o->td);
                long pending = 0; /* empty cells not yet written */
                for (xmlNode *cell = c->children; cell; cell = cell->next) {
                    if (!xml_is(cell, "table-cell") && !xml_is(cell, "covered-table-cell"))
                        continue;
                    const char *crep = xml_attr(cell, "number-columns-repeated");
                    long ctimes = crep ? strtol(crep, NULL, 10) : 1;
                    if (ctimes < 1)
                        ctimes = 1;
                    struct buf probe = {0};
                    xml_text(cell, &probe);
                    int empty = probe.len == 0 || xml_is(cell, "covered-table-cell");
                    buf_free(&probe);
                    if (empty) {
                        pending += ctimes > ODF_MAX_REPEAT ? ODF_MAX_REPEAT : ctimes;
                        continue;
                    }
                    if (ctimes > ODF_MAX_REPEAT)
                        ctimes = ODF_MAX_REPEAT;
                    for (; pending > 0; pending--) {
                        textdoc_cell_begin(&o->td);
                        textdoc_cell_end(&o->td);
                    }
                    for (long k = 0; k < ctimes; k++) {
                        textdoc_cell_begin(&o->td);
                        odf_blocks(o, cell, depth + 1);
                        textdoc_cell_end(&o->td);
                    }
                }
                textdoc_row_end(&o->td);
            }
        } else if (xml_is(c, "table-header-rows") || xml_is(c, "table-rows") ||
                   xml_is(c, "table-row-group")) {
            odf_table(o, c, depth + 1);
        }
    }
    textdoc_end(&o->td);
}

static void odf_blocks(struct odf *o, xmlNode *n, int depth)
{
    if (!n || depth > 64)
        return;
    for (xmlNode *c = n->children; c; c = c->next) {
        if (c->type != XML_ELEMENT_NODE)
            continue;
        const char *name = (const char *)c->name;
        if (!strcmp(name, "h")) {
            const char *lv = xml_attr(c, "outline-level");
            int level = lv ? atoi(lv) : 1;
            if (o->in_item) {
                textdoc_space(&o->td);
            } else {
                textdoc_begin(&o->td, TD_HEADING, level);
                odf_heading_number(o, c, level);
            }
            odf_inline(o, c, depth + 1);
            if (!o->in_item)
                textdoc_end(&o->td);
        } else if (!strcmp(name, "p")) {
            if (o->in_item == 1) {
                textdoc_begin(&o->td, TD_ITEM, o->list_depth - 1);
                if (o->item_marker[0] && strcmp(o->item_marker, "-"))
                    textdoc_marker(&o->td, o->item_marker);
                o->in_item = 2;
            } else if (o->in_item) {
                textdoc_space(&o->td);
            } else {
                textdoc_begin(&o->td, TD_PARA, 0);
            }
            odf_inline(o, c, depth + 1);
            if (!o->in_item)
                textdoc_end(&o->td);
        } else if (!strcmp(name, "list")) {
            int saved = o->in_item;
            struct odf_liststyle *outer = o->list_style;
            odf_list_begin(o, c);
            o->list_depth++;
            o->in_item = 0;
            odf_blocks(o, c, depth + 1);
            o->list_depth--;
            o->in_item = saved;
            if (!o->list_depth && o->list_style)
                o->list_style->last = o->list; /* a later list may continue it */
            o->list_style = outer;
            textdoc_end(&o->td);
        } else if (!strcmp(name, "list-item") || !strcmp(name, "list-header")) {
            o->item_marker[0] = 0;
            if (o->list_style && !strcmp(name, "list-item")) {
                const char *sv = xml_attr(c, "start-value");
                struct buf m = {0};
                odf_number(o->list_style, &o->list, o->list_depth - 1,
                           sv ? strtol(sv, NULL, 10) : -1, &m);
                snprintf(o->item_marker, sizeof o->item_marker, "%s", m.data ? m.data : "");
                buf_free(&m);
            }
            o->in_item = 1; /* the first paragraph starts the item */
            odf_blocks(o, c, depth + 1);
            o->in_item = 0;
            textdoc_end(&o->td);
        } else if (!strcmp(name, "table")) {
            odf_table(o, c, depth + 1);
        } else if (!strcmp(name, "table-of-content") || !strcmp(name, "alphabetical-index") ||
                   !strcmp(name, "illustration-index") || !strcmp(name, "table-index") ||
                   !strcmp(name, "object-index") || !strcmp(name, "user-index") ||
                   !strcmp(name, "bibliography") || !strcmp(name, "tracked-changes") ||
                   !strcmp(name, "sequence-decls") || !strcmp(name, "forms") ||
                   !strcmp(name, "annotation") || !strcmp(name, "notes")) {
            continue;
        } else {
            /* section, frame, text-box, g, custom-shape, soft-page-break... */
            odf_blocks(o, c, depth + 1);
        }
    }
}

static void odf_finish_notes(struct odf *o)
{
    if (o->notes.len)
        textdoc_append_block(&o->td, o->notes.data, o->notes.len);
    buf_reset(&o->notes);
}

static void odp_page(struct odf *o, xmlNode *page)
{
    for (xmlNode *c = page->children; c; c = c->next) {
        if (xml_is(c, "frame")) {
            const char *cls = xml_attr(c, "class");
            if (cls &&
                (!strcmp(cls, "page-number") || !strcmp(cls, "date-time") ||
                 !strcmp(cls, "footer") || !strcmp(cls, "header")))
                continue;
            if (cls && !strcmp(cls, "title")) {
                textdoc_begin(&o->td, TD_HEADING, 1);
                o->in_item = 0;
                struct buf t = {0};
                xml_text(c, &t);
                if (t.len)
                    textdoc_text(&o->td, t.data, t.len);
                buf_free(&t);
                textdoc_end(&o->td);
            } else {
                odf_blocks(o, c, 0);
            }
        } else if (xml_is(c, "notes")) {
            struct odf sub;
            memset(&sub, 0, sizeof sub);
            textdoc_init(&sub.td);
            for (xmlNode *f = c->children; f; f = f->next) {
                const char *cls = xml_attr(f, "class");
                if (xml_is(f, "frame") && cls && !strcmp(cls, "notes"))
                    odf_blocks(&sub, f, 0);
            }
            size_t n;
            char *s = textdoc_finish(&sub.td, &n);
            buf_free(&sub.notes);
            if (n) {
                char *block = xasprintf("Notes: %s", s);
                textdoc_append_block(&o->td, block, strlen(block));
                free(block);
            }
            free(s);
        } else if (c->type == XML_ELEMENT_NODE) {
            odf_blocks(o, c, 0);
        }
    }
}

int odf_extract(struct extract_doc *d, lode_error *err)
{
    xmlDoc *content = container_xml(d, "content.xml", err);
    if (!content)
        return -1;
    lode_error e;
    xmlDoc *meta = container_xml(d, "meta.xml", &e);
    if (meta) {
        container_dublin_core(xmlDocGetRootElement(meta), d->meta);
        xmlFreeDoc(meta);
    }
    xmlNode *body = xml_find(xmlDocGetRootElement(content), "body");
    struct odf o;
    memset(&o, 0, sizeof o);
    int rc = 0;
    struct odf_numbering nb;
    memset(&nb, 0, sizeof nb);
    if (!strcmp(d->type, "odt")) {
        /* list styles live in both parts; the outline style in styles.xml */
        for (int k = 0; k < ODF_LEVELS; k++)
            nb.outline.lv[k].fmt = TD_NUM_NONE;
        xmlDoc *styles = container_xml(d, "styles.xml", &e);
        if (styles) {
            odf_styles_read(&nb, xmlDocGetRootElement(styles), 0);
            xmlFreeDoc(styles);
        }
        odf_styles_read(&nb, xmlDocGetRootElement(content), 0);
        o.nb = &nb;
        textdoc_init(&o.td);
        odf_blocks(&o, xml_child(body, "text"), 0);
        odf_finish_notes(&o);
        size_t n;
        char *text = textdoc_finish(&o.td, &n);
        extract_page(d, 1, 1, text, n, NULL, 0);
        free(text);
    } else {
        int pres = !strcmp(d->type, "odp");
        xmlNode *parent = xml_child(body, pres ? "presentation" : "spreadsheet");
        const char *unit = pres ? "page" : "table";
        int pages = 0, page = 0;
        for (xmlNode *c = parent ? parent->children : NULL; c; c = c->next)
            pages += xml_is(c, unit);
        for (xmlNode *c = parent ? parent->children : NULL; c; c = c->next) {
            if (!xml_is(c, unit))
                continue;
            page++;
            memset(&o, 0, sizeof o);
            textdoc_init(&o.td);
            json_t *pm = json_object();
            if (pres) {
                odp_page(&o, c);
            } else {
                extract_meta_str(pm, "sheet", xml_attr(c, "name"));
                odf_table(&o, c, 0);
            }
            odf_finish_notes(&o);
            size_t n;
            char *text = textdoc_finish(&o.td, &n);
            extract_page(d, page, pages, text, n, pm, 0);
            free(text);
        }
        if (pages == 0) {
            lode_seterr(err,
                        pres ? "the presentation has no slides" : "the spreadsheet has no sheets");
            rc = -1;
        }
    }
    buf_free(&o.notes);
    for (size_t i = 0; i < nb.nstyles; i++)
        free(nb.styles[i].name);
    free(nb.styles);
    xmlFreeDoc(content);
    return rc;
}
