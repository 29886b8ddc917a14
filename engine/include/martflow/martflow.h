/*
 * martflow/martflow.h — everything a plugin includes: the plugin ABI
 * (descriptor, options, host table), records and batches, and the helpers of
 * libmartflow. Build a plugin out of tree with
 *   cc -shared -fPIC -fvisibility=hidden $(pkg-config --cflags martflow) my.c -o transform_my.so
 * and drop it on the plugin path (see docs/plugin-api.md).
 */
#ifndef MARTFLOW_MARTFLOW_H
#define MARTFLOW_MARTFLOW_H

#include <martflow/record.h>
#include <martflow/plugin.h>
#include <martflow/helpers.h>

#endif
