/*
 * Fuzz target: the pipeline loader end to end — YAML or JSON parsing with
 * locations, substitution, option validation and the graph checks — on
 * arbitrary bytes, with the unit tests' built-in plugins registered. Built with
 * libFuzzer by tests/fuzz/run.sh; tests/fuzz/replay.c runs the corpus in
 * `make check`.
 */
#include <stdint.h>
#include <stdlib.h>

#include "config.h"
#include "pipeline.h"
#include "testplugins.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* The first byte picks the file kind, so both parsers are exercised. */
    const char *name = (size > 0 && (data[0] & 1)) ? "fuzz.json" : "fuzz.yaml";
    mf_registry *reg = mf_registry_new();
    tp_register(reg);
    mf_diag diag = {0};
    mf_config *cfg = mf_config_load_text(name, (const char *)data, size, &diag);
    if (cfg)
        mf_pipeline_def_free(mf_pipeline_def_load(cfg, reg, &diag));
    mf_diag_free(&diag);
    mf_registry_free(reg);
    return 0;
}
