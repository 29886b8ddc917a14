/*
 * call_config.h — the configuration a callthread worker holds (cfg_cache.h)
 * and what it gives the call facts (docs/plugins/gspconfig.md "Enrichment"):
 * gca-cfg records arriving among the events are applied to the cache; an
 * event without ThisDNType that does not decide its DN's kind gets the
 * CfgDN type; resource references get their switch; an AgentID the
 * tenant's configuration does not know is counted as unknown_person.
 *
 * Ownership: a call_config owns its cache and metrics table
 * (call_config_free); host and node are borrowed and outlive it.
 */
#ifndef GSP_CALL_CONFIG_H
#define GSP_CALL_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include <martflow/martflow.h>

#include "voice_event.h"

typedef struct call_config call_config;

call_config *call_config_new(const mf_host *host, mf_node *node, size_t max_objects);
void call_config_free(call_config *cc);

/* Is rec a gca-cfg record (a `type` and a `dbid`, no `id`)? Then it is
 * applied (or rejected with the reason) and true is returned: the caller
 * is done with it. Call it only for a record the event decoder refused for
 * a missing field (so events pay nothing). */
bool call_config_take(call_config *cc, mf_record *rec);

/* Complete a decoded event from the configuration: the DN type (see above).
 * Returns true when the event names an AgentID unknown to a tenant that has
 * configuration (the caller counts it with call_config_unknown_person once
 * the event is kept). */
bool call_config_enrich(call_config *cc, gsp_voice_event *ev);
void call_config_unknown_person(call_config *cc, const char *tenant, size_t tenant_len);

/* The switch name of a resource reference (cf_target.switch_of): the agent
 * login's for an Agent (name = login code), else the DN's; "" unknown or
 * ambiguous. */
const char *call_config_switch_of(void *cc, const char *tenant, size_t tenant_len, bool agent, const char *name,
                                  size_t len);

/* The cache as bytes for callthread's checkpoint (cfg_cache_save), and
 * back (replacing what it holds; false: malformed). The configuration is in
 * the checkpoint so that gca-cfg may resume at the checkpoint's offsets
 * instead of being read again from the snapshot or the topic's start. */
void call_config_save(const call_config *cc, mf_buffer *out);
bool call_config_load(call_config *cc, const uint8_t *data, size_t len);

#endif
