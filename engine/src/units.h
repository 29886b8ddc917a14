/*
 * units.h — parsing of the human units options are written in: sizes ("64KiB",
 * "5MiB", "1GB", plain bytes) and durations ("250ms", "10s", "5m", "1h30m", "2d";
 * a bare number only for 0). Whole-string parses: trailing garbage is an error.
 */
#ifndef MF_UNITS_H
#define MF_UNITS_H

#include <stdbool.h>
#include <stdint.h>

#include <martflow/helpers.h> /* mf_parse_size, mf_parse_duration_ms, mf_parse_bool */

bool mf_parse_int(const char *text, int64_t *value);
bool mf_parse_double(const char *text, double *value);

#endif
