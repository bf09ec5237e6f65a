"""Who owns a host or a piece of code: the curated entity registry and importers for public lists.

```python
from analysis.entities import load_registry
reg = load_registry()
tiktok = reg.entity_for_host("log-va.tiktokv.com")   # TikTok, parent ByteDance
reg.party(tiktok, "com.zhiliaoapp.musically")        # "first"
reg.entity_for_class("com.appsflyer.AppsFlyerLib")   # AppsFlyer
```
"""

from analysis.entities.model import CATEGORIES
from analysis.entities.model import PARTIES
from analysis.entities.model import Endpoint
from analysis.entities.model import Entity
from analysis.entities.model import Source
from analysis.entities.registry import ImportedEntity
from analysis.entities.registry import ImportedList
from analysis.entities.registry import Registry
from analysis.entities.registry import RegistryError
from analysis.entities.registry import class_of_frame
from analysis.entities.registry import load_registry
from analysis.entities.registry import normalise_host
from analysis.entities.registry import normalise_name
from analysis.entities.registry import registry_files

__all__ = [
    "CATEGORIES",
    "PARTIES",
    "Endpoint",
    "Entity",
    "ImportedEntity",
    "ImportedList",
    "Registry",
    "RegistryError",
    "Source",
    "class_of_frame",
    "load_registry",
    "normalise_host",
    "normalise_name",
    "registry_files",
]
