#!/usr/bin/env python3
"""Write N varied, valid STIX patterns over the Sysdig mapping, one per line (deterministic)."""
import random
import sys

N = int(sys.argv[1]) if len(sys.argv) > 1 else 10000
rng = random.Random(42)
STRING = [
    "x-oca-asset:hostname", "x-oca-asset:extensions.'x-oca-container-ext'.container_id",
    "x-oca-asset:extensions.'x-oca-container-ext'.name", "x-oca-asset:extensions.'x-oca-container-ext'.image_id",
    "x-oca-asset:extensions.'x-oca-container-ext'.x_repo", "x-oca-asset:extensions.'x-oca-container-ext'.x_tag",
    "x-oca-asset:extensions.'x-oca-pod-ext'.pod_name", "x-oca-asset:extensions.'x-oca-pod-ext'.x_namespace",
    "x-ibm-finding:name", "x-ibm-finding:x_category", "x-ibm-finding:x_threat_originator",
    "x-sysdig-cluster:name", "x-sysdig-cluster:namespace", "x-sysdig-deployment:name",
    "x-sysdig-policy:rule_name", "x-cloud-provider:name", "x-cloud-provider:region",
]
INT = ["x-ibm-finding:x_agent_id", "x-sysdig-policy:rule_type", "x-sysdig-policy:rule_subtype",
       "x-sysdig-policy:policy_id", "x-cloud-provider:account_id"]
WORDS = ["prod", "web", "Launch Privileged Container", "runtime", "syscall", "kube-system",
         "us-east-1", "nginx", "cluster-a", "Contact EC2 Instance Metadata"]


def ts(day):
    return "t'2023-%02d-%02dT%02d:%02d:%02d.%03dZ'" % (rng.randint(1, 11), day, rng.randint(0, 23),
                                                      rng.randint(0, 59), rng.randint(0, 59), rng.randint(0, 999))


def comparison():
    r = rng.random()
    if r < 0.5:
        attr = rng.choice(STRING)
        op = rng.choice(["=", "!=", "NOT ="])
        return "%s %s '%s'" % (attr, op, rng.choice(WORDS))
    if r < 0.7:
        attr = rng.choice(INT)
        return "%s %s %d" % (attr, rng.choice(["=", "!=", ">", ">=", "<", "<="]), rng.randint(0, 99999))
    if r < 0.8:
        return "x-ibm-finding:severity %s %d" % (rng.choice(["=", ">", "<=", "!="]), rng.randint(1, 100))
    if r < 0.9:
        return "mac-addr:value = '%s'" % ":".join("%02x" % rng.randint(0, 255) for _ in range(6))
    vals = ", ".join("'%s'" % rng.choice(WORDS) for _ in range(rng.randint(1, 4)))
    return "%s IN (%s)" % (rng.choice(STRING), vals)


def observation():
    n = rng.randint(1, 4)
    parts = [comparison()]
    for _ in range(n - 1):
        parts.append(rng.choice(["AND", "OR"]))
        parts.append(comparison())
    return "[" + " ".join(parts) + "]"


for _ in range(N):
    day = rng.randint(1, 14)
    window = " START t'2023-10-%02dT00:00:00.000Z' STOP t'2023-10-%02dT12:30:00.250Z'" % (day, day + rng.randint(0, 13))
    if rng.random() < 0.3:
        print("%s AND %s%s" % (observation(), observation(), window))
    else:
        print(observation() + window)
