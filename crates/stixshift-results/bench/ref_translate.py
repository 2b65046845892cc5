# Time stix-shifter's in-process results translation: python ref_translate.py EVENTS.json
import json, sys, time
from stix_shifter.stix_translation import stix_translation
ident = ({"type": "identity", "id": "identity--f431f809-377b-45e0-aa1c-6a4751cae5ff", "name": "sysdig", "identity_class": "events"})
data = open(sys.argv[1]).read()
n = len(json.loads(data))
t = stix_translation.StixTranslation()
start = time.perf_counter()
out = t.translate("sysdig", "results", ident, data, {})
elapsed = time.perf_counter() - start
assert out.get("type") == "bundle", str(out)[:300]
print(f"{n} {elapsed:.3f}")
