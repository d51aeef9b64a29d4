/* html.c - html.h's readable text of HTML and XHTML: libxml2's HTML
 * parser, boilerplate (navigation, footers, scripts) removed, the main
 * content found, headings, lists and tables into lode's plain layout. */
#include "docs/html.h"

#include <libxml/HTMLparser.h>
#include <libxml/tree.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/buf.h"
#include "docs/charset.h"
#include "docs/extract.h"
#include "docs/xml.h"

struct walk {
    struct textdoc *td;
    int list_depth;
    int in_item;
    int in_content; /* inside main/article: header and footer are content */
    int pre;
};

static const char *const skipped_elements[] = {
    "script", "style",    "noscript", "template", "head", "svg",    "math",   "iframe", "object",
    "embed",  "canvas",   "audio",    "video",    "map",  "button", "select", "input",  "textarea",
    "option", "datalist", "nav",      "aside",    "form", "dialog", "link",   "meta",   NULL,
};

/* Words in a class or id that mark page furniture rather than content. */
static const char *const boilerplate_words[] = {
    "nav",      "navbar",        "navigation",  "navbox",    "menu",        "menubar",
    "sidebar",  "breadcrumb",    "breadcrumbs", "footer",    "cookie",      "cookies",
    "consent",  "banner",        "skip",        "share",     "sharing",     "social",
    "advert",   "advertisement", "ads",         "sponsor",   "sponsored",   "promo",
    "popup",    "modal",         "newsletter",  "subscribe", "editsection", "noprint",
    "catlinks", "printfooter",   "jump",        "toolbar",   "pagination",  "pager",
    NULL,
};

static int in_list(const char *s, size_t n, const char *const *list)
{
    for (int i = 0; list[i]; i++)
        if (strlen(list[i]) == n && !strncasecmp(s, list[i], n))
            return 1;
    return 0;
}

static int names_boilerplate(const char *v)
{
    if (!v)
        return 0;
    const char *p = v;
    while (*p) {
        /* split into words at anything that is not a letter */
        while (*p && !((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')))
            p++;
        const char *s = p;
        while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z'))
            p++;
        if (p > s && in_list(s, (size_t)(p - s), boilerplate_words))
            return 1;
    }
    return 0;
}

static int hidden(xmlNode *n, int in_content)
{
    if (xml_attr(n, "hidden"))
        return 1;
    const char *aria = xml_attr(n, "aria-hidden");
    if (aria && !strcasecmp(aria, "true"))
        return 1;
    const char *style = xml_attr(n, "style");
    if (style) {
        const char *d = strstr(style, "display");
        if (d) {
            d += 7;
            while (*d == ' ' || *d == ':')
                d++;
            if (!strncasecmp(d, "none", 4))
                return 1;
        }
    }
    const char *role = xml_attr(n, "role");
    if (role &&
        (!strcasecmp(role, "navigation") || !strcasecmp(role, "search") ||
         !strcasecmp(role, "complementary") || !strcasecmp(role, "menu") ||
         !strcasecmp(role, "menubar") || !strcasecmp(role, "toolbar") ||
         (!in_content && (!strcasecmp(role, "banner") || !strcasecmp(role, "contentinfo")))))
        return 1;
    const char *name = (const char *)n->name;
    if (!strcmp(name, "body") || !strcmp(name, "main") || !strcmp(name, "article") ||
        !strcmp(name, "html"))
        return 0;
    return names_boilerplate(xml_attr(n, "class")) || names_boilerplate(xml_attr(n, "id"));
}

static int is_block(const char *name)
{
    static const char *const blocks[] = {
        "p",          "div",      "section",  "article",    "main",    "header",  "footer",
        "blockquote", "address",  "figure",   "figcaption", "details", "summary", "center",
        "fieldset",   "legend",   "dl",       "dt",         "dd",      "caption", "body",
        "hgroup",     "noframes", "frameset", NULL,
    };
    return in_list(name, strlen(name), blocks);
}

static void walk(struct walk *w, xmlNode *n, int depth);

static void children(struct walk *w, xmlNode *n, int depth)
{
    for (xmlNode *c = n->children; c; c = c->next)
        walk(w, c, depth + 1);
}

static void walk(struct walk *w, xmlNode *n, int depth)
{
    if (depth > 512)
        return;
    if (n->type == XML_TEXT_NODE || n->type == XML_CDATA_SECTION_NODE) {
        if (n->content)
            textdoc_texts(w->td, (const char *)n->content);
        return;
    }
    if (n->type != XML_ELEMENT_NODE || !n->name)
        return;
    const char *name = (const char *)n->name;
    if (in_list(name, strlen(name), skipped_elements))
        return;
    if ((!strcmp(name, "header") || !strcmp(name, "footer")) && !w->in_content)
        return;
    if (hidden(n, w->in_content))
        return;
    struct textdoc *td = w->td;
    if (name[0] == 'h' && name[1] >= '1' && name[1] <= '6' && !name[2]) {
        if (w->in_item) {
            textdoc_space(td);
            children(w, n, depth);
            textdoc_space(td);
            return;
        }
        textdoc_begin(td, TD_HEADING, name[1] - '0');
        children(w, n, depth);
        textdoc_end(td);
        return;
    }
    if (!strcmp(name, "ul") || !strcmp(name, "ol") || !strcmp(name, "menu")) {
        int saved = w->in_item;
        w->list_depth++;
        w->in_item = 0;
        children(w, n, depth);
        w->list_depth--;
        w->in_item = saved;
        textdoc_end(td);
        return;
    }
    if (!strcmp(name, "li")) {
        textdoc_begin(td, TD_ITEM, w->list_depth > 0 ? w->list_depth - 1 : 0);
        w->in_item++;
        children(w, n, depth);
        w->in_item--;
        textdoc_end(td);
        return;
    }
    if (!strcmp(name, "tr")) {
        textdoc_row_begin(td);
        children(w, n, depth);
        textdoc_row_end(td);
        return;
    }
    if (!strcmp(name, "td") || !strcmp(name, "th")) {
        textdoc_cell_begin(td);
        children(w, n, depth);
        textdoc_cell_end(td);
        const char *span = xml_attr(n, "colspan");
        if (span)
            textdoc_empty_cells(td, strtol(span, NULL, 10) - 1);
        return;
    }
    if (!strcmp(name, "br")) {
        textdoc_linebreak(td);
        return;
    }
    if (!strcmp(name, "hr")) {
        textdoc_end(td);
        return;
    }
    if (!strcmp(name, "pre") && !w->in_item) {
        textdoc_begin(td, TD_PRE, 0);
        children(w, n, depth);
        textdoc_end(td);
        return;
    }
    if (!strcmp(name, "table")) {
        textdoc_table_begin(td);
        children(w, n, depth);
        textdoc_end(td);
        return;
    }
    if (!strcmp(name, "main") || !strcmp(name, "article")) {
        int saved = w->in_content;
        w->in_content = 1;
        textdoc_end(td);
        children(w, n, depth);
        textdoc_end(td);
        w->in_content = saved;
        return;
    }
    if (is_block(name)) {
        if (w->in_item) {
            textdoc_space(td);
            children(w, n, depth);
            textdoc_space(td);
            return;
        }
        textdoc_end(td);
        children(w, n, depth);
        textdoc_end(td);
        return;
    }
    /* inline elements; a <td>-less table cell structure or unknown tag */
    children(w, n, depth);
}

static xmlNode *find_main(xmlNode *n, int depth, xmlNode **article, int *articles)
{
    if (depth > 512)
        return NULL;
    for (xmlNode *c = n; c; c = c->next) {
        if (c->type != XML_ELEMENT_NODE)
            continue;
        const char *name = (const char *)c->name;
        const char *role = xml_attr(c, "role");
        if (!strcmp(name, "main") || (role && !strcasecmp(role, "main")))
            return c;
        if (!strcmp(name, "article")) {
            if (!*article)
                *article = c;
            (*articles)++;
            continue; /* articles inside articles do not count twice */
        }
        if (!strcmp(name, "head") || !strcmp(name, "script") || !strcmp(name, "style"))
            continue;
        xmlNode *m = find_main(c->children, depth + 1, article, articles);
        if (m)
            return m;
    }
    return NULL;
}

static void head_meta(xmlNode *n, json_t *meta, int depth)
{
    if (depth > 64)
        return;
    for (xmlNode *c = n; c; c = c->next) {
        if (c->type != XML_ELEMENT_NODE)
            continue;
        const char *name = (const char *)c->name;
        if (!strcmp(name, "title") && !json_object_get(meta, "title")) {
            xmlChar *t = xmlNodeGetContent(c);
            if (t) {
                struct textdoc td;
                textdoc_init(&td);
                textdoc_texts(&td, (const char *)t);
                size_t len;
                char *s = textdoc_finish(&td, &len);
                extract_meta_str(meta, "title", s);
                free(s);
                xmlFree(t);
            }
        } else if (!strcmp(name, "meta")) {
            const char *key = xml_attr(c, "name");
            if (!key)
                key = xml_attr(c, "property");
            const char *content = xml_attr(c, "content");
            if (key && content) {
                if (!strcasecmp(key, "author") || !strcasecmp(key, "dc.creator") ||
                    !strcasecmp(key, "article:author"))
                    extract_meta_str(meta, "author", content);
                else if (!strcasecmp(key, "article:published_time") ||
                         !strcasecmp(key, "dcterms.created") || !strcasecmp(key, "dc.date") ||
                         !strcasecmp(key, "date"))
                    extract_meta_str(meta, "created", content);
                else if (!strcasecmp(key, "article:modified_time") ||
                         !strcasecmp(key, "dcterms.modified") || !strcasecmp(key, "last-modified"))
                    extract_meta_str(meta, "modified", content);
            }
        } else if (!strcmp(name, "html") || !strcmp(name, "head")) {
            if (!strcmp(name, "html"))
                extract_meta_str(meta, "lang", xml_attr(c, "lang"));
            head_meta(c->children, meta, depth + 1);
        }
    }
}

int html_render(const char *utf8, size_t len, struct textdoc *td, json_t *meta, int want_main)
{
    if (len > INT32_MAX)
        return -1;
    htmlDocPtr doc =
        htmlReadMemory(utf8, (int)len, NULL, "UTF-8",
                       HTML_PARSE_RECOVER | HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING |
                           HTML_PARSE_NONET | HTML_PARSE_NOBLANKS * 0 | HTML_PARSE_COMPACT);
    if (!doc)
        return -1;
    xmlNode *root = xmlDocGetRootElement(doc);
    if (!root) {
        xmlFreeDoc(doc);
        return 0;
    }
    if (meta)
        head_meta(root, meta, 0);
    struct walk w = {td, 0, 0, 0, 0};
    xmlNode *article = NULL, *main_node = NULL;
    int articles = 0;
    if (want_main) {
        main_node = find_main(root, 0, &article, &articles);
        if (!main_node && articles == 1)
            main_node = article;
    }
    if (main_node) {
        struct textdoc part;
        textdoc_init(&part);
        w.td = &part;
        w.in_content = 1;
        children(&w, main_node, 0);
        size_t n;
        char *s = textdoc_finish(&part, &n);
        if (n >= 200) {
            textdoc_append_block(td, s, n);
            free(s);
            xmlFreeDoc(doc);
            return 0;
        }
        free(s); /* main holds almost nothing: read the whole page */
        w.td = td;
        w.in_content = 0;
    }
    walk(&w, root, 0);
    textdoc_end(td);
    xmlFreeDoc(doc);
    return 0;
}

int html_extract(struct extract_doc *d, lode_error *err)
{
    char declared[64];
    const char *decl = charset_sniff_declared((const char *)d->data->data, d->data->len, declared,
                                              sizeof declared) == 0
        ? declared
        : NULL;
    size_t len;
    char *utf8 = charset_to_utf8((const char *)d->data->data, d->data->len, decl, &len, NULL);
    struct textdoc td;
    textdoc_init(&td);
    if (html_render(utf8, len, &td, d->meta, 1) < 0) {
        free(utf8);
        textdoc_free(&td);
        lode_seterr(err, "unreadable HTML");
        return -1;
    }
    free(utf8);
    size_t n;
    char *text = textdoc_finish(&td, &n);
    extract_page(d, 1, 1, text, n, NULL, 0);
    free(text);
    return 0;
}
