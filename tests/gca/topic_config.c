/*
 * topic_config BROKERS TOPIC KEY — print the value of one setting of a topic
 * (DescribeConfigs), to check what the sink's create_topic made without the
 * sink's code. Exit 1 when the topic or the setting cannot be read.
 */
#include <stdio.h>
#include <string.h>

#include <librdkafka/rdkafka.h>

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: topic_config BROKERS TOPIC KEY\n");
        return 2;
    }
    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (rd_kafka_conf_set(conf, "bootstrap.servers", argv[1], err, sizeof err) != RD_KAFKA_CONF_OK) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    if (!rk) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    rd_kafka_ConfigResource_t *res = rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, argv[2]);
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_DescribeConfigs(rk, &res, 1, NULL, q);
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 20000);
    int rc = 1;
    if (!ev || rd_kafka_event_error(ev)) {
        fprintf(stderr, "DescribeConfigs: %s\n", ev ? rd_kafka_event_error_string(ev) : "timed out");
        goto done;
    }
    size_t n = 0;
    const rd_kafka_ConfigResource_t **out =
        rd_kafka_DescribeConfigs_result_resources(rd_kafka_event_DescribeConfigs_result(ev), &n);
    if (n != 1 || rd_kafka_ConfigResource_error(out[0])) {
        fprintf(stderr, "topic %s: %s\n", argv[2], n == 1 ? rd_kafka_ConfigResource_error_string(out[0]) : "?");
        goto done;
    }
    size_t nc = 0;
    const rd_kafka_ConfigEntry_t **entries = rd_kafka_ConfigResource_configs(out[0], &nc);
    for (size_t i = 0; i < nc; i++)
        if (strcmp(rd_kafka_ConfigEntry_name(entries[i]), argv[3]) == 0) {
            const char *v = rd_kafka_ConfigEntry_value(entries[i]);
            printf("%s\n", v ? v : "");
            rc = 0;
        }
    if (rc)
        fprintf(stderr, "topic %s has no setting %s\n", argv[2], argv[3]);
done:
    if (ev)
        rd_kafka_event_destroy(ev);
    rd_kafka_queue_destroy(q);
    rd_kafka_ConfigResource_destroy(res);
    rd_kafka_destroy(rk);
    return rc;
}
