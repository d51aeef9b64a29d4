/* modelpath.c - modelpath.h's -m: a file or directory as given, or
 * ollama:NAME[:TAG] looked up through Ollama's manifests to its model blob. */
#include "model/modelpath.h"

#include <glib.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int model_is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* A name part Ollama would accept: no path tricks. */
static int safe(const char *s)
{
    if (!*s || !strcmp(s, ".") || !strcmp(s, ".."))
        return 0;
    for (; *s; s++)
        if (!(g_ascii_isalnum(*s) || *s == '.' || *s == '-' || *s == '_'))
            return 0;
    return 1;
}

static char *ollama(const char *spec, lode_error *err)
{
    const char *home = getenv("HOME");
    char *base = getenv("OLLAMA_MODELS") ? xstrdup(getenv("OLLAMA_MODELS"))
                                         : xasprintf("%s/.ollama/models", home ? home : ".");
    char *name = xstrdup(spec), *tag = strrchr(name, ':'), *path = NULL;
    if (tag && !strchr(tag, '/'))
        *tag++ = 0;
    else
        tag = "latest";
    /* host/namespace/name, namespace/name or name */
    char *parts[3] = {NULL, NULL, NULL}, *save = NULL;
    int n = 0;
    for (char *p = strtok_r(name, "/", &save); p; p = strtok_r(NULL, "/", &save)) {
        if (n == 3) {
            n = 4;
            break;
        }
        parts[n++] = p;
    }
    const char *host = n == 3 ? parts[0] : "registry.ollama.ai";
    const char *ns = n == 3 ? parts[1] : n == 2 ? parts[0] : "library";
    const char *model = n ? parts[n - 1] : "";
    if (n < 1 || n > 3 || !safe(host) || !safe(ns) || !safe(model) || !safe(tag)) {
        lode_seterr(err, "ollama:%s is not a model name (NAME[:TAG], NAMESPACE/NAME[:TAG])", spec);
        goto out;
    }
    char *manifest = xasprintf("%s/manifests/%s/%s/%s/%s", base, host, ns, model, tag);
    json_error_t je;
    json_t *m = json_load_file(manifest, 0, &je);
    if (!m) {
        lode_seterr(err, "ollama:%s: no manifest at %s (is the model pulled? %s)", spec, manifest,
                    je.text);
        free(manifest);
        goto out;
    }
    json_t *layers = json_object_get(m, "layers");
    for (size_t i = 0; i < json_array_size(layers); i++) {
        json_t *l = json_array_get(layers, i);
        const char *type = json_string_value(json_object_get(l, "mediaType"));
        const char *digest = json_string_value(json_object_get(l, "digest"));
        if (!type || strcmp(type, "application/vnd.ollama.image.model") || !digest)
            continue;
        if (strncmp(digest, "sha256:", 7) || strlen(digest) != 71 ||
            strspn(digest + 7, "0123456789abcdef") != 64) {
            lode_seterr(err, "ollama:%s: %s names a malformed digest", spec, manifest);
            break;
        }
        path = xasprintf("%s/blobs/sha256-%s", base, digest + 7);
        if (access(path, R_OK) != 0) {
            lode_seterr(err, "ollama:%s: the model blob %s is missing", spec, path);
            free(path);
            path = NULL;
        }
        break;
    }
    if (!path && !err->msg[0])
        lode_seterr(err, "ollama:%s: %s has no model layer", spec, manifest);
    json_decref(m);
    free(manifest);
out:
    free(name);
    free(base);
    return path;
}

char *model_resolve(const char *spec, lode_error *err)
{
    err->msg[0] = 0;
    if (!strncmp(spec, "ollama:", 7))
        return ollama(spec + 7, err);
    if (access(spec, R_OK) != 0) {
        lode_seterr(err, "%s: no such model file or directory", spec);
        return NULL;
    }
    return xstrdup(spec);
}
