/* modelpath.h - what -m names: a file or directory, or an Ollama model.
 *
 * ollama:NAME[:TAG] is looked up as Ollama stores pulled models:
 * $OLLAMA_MODELS (default ~/.ollama/models)/manifests/HOST/NAMESPACE/NAME/TAG,
 * a JSON manifest whose layer of media type application/vnd.ollama.image.model
 * names the GGUF blob, blobs/sha256-DIGEST. NAME may carry a namespace
 * (user/name) and a host; the defaults are registry.ollama.ai, library and
 * latest.
 */
#ifndef LODE_MODELPATH_H
#define LODE_MODELPATH_H

#include "base/util.h"

/* The path to load (free it), or NULL with a reason. */
char *model_resolve(const char *spec, lode_error *err);
int model_is_dir(const char *path);

#endif
