/*
 * kafka_offsets — an independent look at a group's committed offsets and a
 * topic's end offsets, for the Kafka tests (kcat cannot show either).
 *
 *   kafka_offsets committed BROKERS GROUP TOPIC PARTITIONS
 *   kafka_offsets end BROKERS TOPIC PARTITIONS
 *
 * Prints one line per partition: "PARTITION OFFSET" (-1: nothing committed).
 * Exit 0, or 1 with a message on stderr.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka.h>

static rd_kafka_t *client(const char *brokers, const char *group)
{
    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (rd_kafka_conf_set(conf, "bootstrap.servers", brokers, err, sizeof err) ||
        rd_kafka_conf_set(conf, "group.id", group, err, sizeof err) ||
        rd_kafka_conf_set(conf, "enable.auto.commit", "false", err, sizeof err) ||
        rd_kafka_conf_set(conf, "log_level", "3", err, sizeof err)) {
        fprintf(stderr, "kafka_offsets: %s\n", err);
        exit(1);
    }
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
    if (!rk) {
        fprintf(stderr, "kafka_offsets: %s\n", err);
        exit(1);
    }
    return rk;
}

int main(int argc, char **argv)
{
    if (argc == 6 && strcmp(argv[1], "committed") == 0) {
        int parts = atoi(argv[5]);
        rd_kafka_t *rk = client(argv[2], argv[3]);
        rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(parts);
        for (int p = 0; p < parts; p++)
            rd_kafka_topic_partition_list_add(l, argv[4], p);
        rd_kafka_resp_err_t err = rd_kafka_committed(rk, l, 15000);
        if (err) {
            fprintf(stderr, "kafka_offsets: committed: %s\n", rd_kafka_err2str(err));
            return 1;
        }
        for (int i = 0; i < l->cnt; i++)
            printf("%d %lld\n", (int)l->elems[i].partition, (long long)(l->elems[i].offset < 0 ? -1 : l->elems[i].offset));
        rd_kafka_topic_partition_list_destroy(l);
        rd_kafka_destroy(rk);
        return 0;
    }
    if (argc == 5 && strcmp(argv[1], "end") == 0) {
        int parts = atoi(argv[4]);
        rd_kafka_t *rk = client(argv[2], "kafka_offsets");
        for (int p = 0; p < parts; p++) {
            int64_t lo, hi;
            rd_kafka_resp_err_t err = rd_kafka_query_watermark_offsets(rk, argv[3], p, &lo, &hi, 15000);
            if (err) {
                fprintf(stderr, "kafka_offsets: end of %s [%d]: %s\n", argv[3], p, rd_kafka_err2str(err));
                return 1;
            }
            printf("%d %lld\n", p, (long long)hi);
        }
        rd_kafka_destroy(rk);
        return 0;
    }
    fprintf(stderr, "usage: kafka_offsets committed BROKERS GROUP TOPIC PARTITIONS\n"
                    "       kafka_offsets end BROKERS TOPIC PARTITIONS\n");
    return 2;
}
