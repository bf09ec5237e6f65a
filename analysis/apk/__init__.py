"""Static analysis of the APK that was run: what the app is able to do, next to what it did.

```python
from analysis.apk import analyse, run, capability_rows, load_static
report = analyse(Path("base.apk"))                 # StaticReport (APK, split folder, XAPK/APKS bundle)
outcome = run(Path("base.apk"), Path("captures/<session>"))   # adds the APK to the session, writes apk/static.json
table = capability_rows(load_static(outcome.static_path.read_bytes()), hook_events, detections)
```

Modules, in the order the analysis uses them: `bundle` (input and limits), `manifest`, `permissions`,
`netsec`, `signing`, `dexfile` + `dexscan` (call sites of the hooked APIs listed in `apis`), `sdks`
(entity registry by class prefix), `native`, `hosts`, `report` (static.json), `analyse` (the steps),
`store` (session folder), `capability` (capability vs observed).
"""

from analysis.apk.analyse import analyse
from analysis.apk.analyse import analyse_parts
from analysis.apk.bundle import ApkError
from analysis.apk.bundle import ApkPart
from analysis.apk.bundle import Limits
from analysis.apk.bundle import load_parts
from analysis.apk.capability import CAPABILITY_COLUMNS
from analysis.apk.capability import CapabilityRow
from analysis.apk.capability import capability_rows
from analysis.apk.capability import hook_event_data_type
from analysis.apk.report import CallSite
from analysis.apk.report import HostRef
from analysis.apk.report import InputApk
from analysis.apk.report import StaticReport
from analysis.apk.report import load_static
from analysis.apk.store import Outcome
from analysis.apk.store import run

__all__ = [
    "CAPABILITY_COLUMNS",
    "ApkError",
    "ApkPart",
    "CallSite",
    "CapabilityRow",
    "HostRef",
    "InputApk",
    "Limits",
    "Outcome",
    "StaticReport",
    "analyse",
    "analyse_parts",
    "capability_rows",
    "hook_event_data_type",
    "load_parts",
    "load_static",
    "run",
]
