#!/usr/bin/env python3
"""Reads balados events with a client that shares no code with the project: confluent-kafka for
Kafka, the registry's REST API for the writer schema (by the id in each record's Confluent wire
header), and fastavro to decode. Prints the decoded events of USER as JSON lines and exits 0 once
one of them is a Subscribed event for FEED_URL; exits 1 after the timeout.

Usage: decode_events.py BOOTSTRAP REGISTRY_URL TOPIC USER FEED_URL [TIMEOUT_S]"""
import io
import json
import struct
import sys
import time
import uuid

import fastavro
from confluent_kafka import Consumer
from confluent_kafka.schema_registry import SchemaRegistryClient

bootstrap, registry_url, topic, user, feed_url = sys.argv[1:6]
timeout = float(sys.argv[6]) if len(sys.argv) > 6 else 60.0

registry = SchemaRegistryClient({"url": registry_url})
schemas = {}


def writer_schema(schema_id):
    if schema_id not in schemas:
        served = registry.get_schema(schema_id)
        schemas[schema_id] = fastavro.parse_schema(json.loads(served.schema_str))
    return schemas[schema_id]


consumer = Consumer({
    "bootstrap.servers": bootstrap,
    "group.id": f"decode-check-{uuid.uuid4()}",
    "auto.offset.reset": "earliest",
    "enable.auto.commit": False,
    "session.timeout.ms": 10000,
})
consumer.subscribe([topic])
deadline = time.time() + timeout
try:
    while time.time() < deadline:
        message = consumer.poll(0.5)
        if message is None or message.error():
            continue
        value = message.value()
        magic, schema_id = struct.unpack(">bI", value[:5])
        if magic != 0:
            print(f"bad magic byte {magic}", file=sys.stderr)
            sys.exit(2)
        event = fastavro.schemaless_reader(io.BytesIO(value[5:]), writer_schema(schema_id))
        if event["user_id"] != user:
            continue
        print(json.dumps({"schema_id": schema_id, "event": event}, default=str), flush=True)
        payload = event["payload"]
        if "subscribed_at" in payload and payload["feed_url"] == feed_url:
            sys.exit(0)
finally:
    consumer.close()
sys.exit(1)
