// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target for the writer protocol's codec: any bytes, parsed as
 * each side would. A message that parses must also survive being encoded
 * again and parsed back (hello and ack, the writer's own messages). Built
 * with ASan and UBSan by `make fuzz`.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../userspace/lib/protocol.h"

static void round_trip(const struct proto_msg *msg)
{
	struct proto_msg again;
	char *text = NULL, why[256];

	if (msg->type == PROTO_HELLO)
		text = proto_hello(msg->name, msg->match);
	else if (msg->type == PROTO_ACK)
		text = proto_ack(msg->event, msg->ok ? NULL : msg->text ?: "");
	if (!text)
		return;
	assert(proto_parse(text, strlen(text), PROTO_FROM_WRITER, &again, why,
			   sizeof(why)) == 0);
	assert(again.type == msg->type);
	proto_msg_free(&again);
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proto_msg msg;
	char why[256];

	if (!proto_parse(data, size, PROTO_FROM_WRITER, &msg, why,
			 sizeof(why))) {
		round_trip(&msg);
		proto_msg_free(&msg);
	}
	if (!proto_parse(data, size, PROTO_FROM_DAEMON, &msg, why, sizeof(why)))
		proto_msg_free(&msg);
	return 0;
}
