/* html.h - the readable text of HTML and XHTML (html.c), shared by the
 * HTML and EPUB readers.
 *
 * Scripts, styles, forms and navigation boilerplate (nav, aside, page-level
 * header and footer, ARIA navigation roles, hidden elements, and elements
 * whose class or id names a menu, sidebar, breadcrumb, cookie banner,
 * sharing bar and the like) are left out. When the page marks its main
 * content (<main>, role="main", or a single <article>) only that is read,
 * unless it holds almost nothing.
 */
#ifndef LODE_HTML_H
#define LODE_HTML_H

#include <jansson.h>
#include <stddef.h>

#include "docs/textdoc.h"

/* Renders UTF-8 HTML into td. meta (may be NULL) receives title, lang,
 * author. find_main: read only the main content when the page marks it. */
int html_render(const char *utf8, size_t len, struct textdoc *td, json_t *meta, int find_main);

#endif
