# Time stix-shifter's in-process results translation: python ref_translate.py EVENTS.json
# The events are parsed first (as stix-shifter's CLI does with json.loads before
# calling translate); only the translate call is timed. Passing the JSON text
# instead would make the sysdig module iterate over its characters.
import json, sys, time
from stix_shifter.stix_translation import stix_translation
ident = {"type": "identity", "id": "identity--f431f809-377b-45e0-aa1c-6a4751cae5ff", "name": "sysdig", "identity_class": "events"}
with open(sys.argv[1]) as f:
    data = json.load(f)
n = len(data)
t = stix_translation.StixTranslation()
start = time.perf_counter()
out = t.translate("sysdig", "results", ident, data, {})
elapsed = time.perf_counter() - start
assert out.get("type") == "bundle", str(out)[:300]
assert len(out["objects"]) == n + 1, (len(out["objects"]), n)
print(f"{n} {elapsed:.3f}")
