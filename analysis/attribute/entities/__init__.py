"""Who owns a host or a piece of code: the curated entity registry and importers for public lists.

```python
from analysis.attribute.entities import load_registry
reg = load_registry()
tiktok = reg.entity_for_host("log-va.tiktokv.com")   # TikTok, parent ByteDance
reg.party(tiktok, "com.zhiliaoapp.musically")        # "first"
reg.entity_for_class("com.appsflyer.AppsFlyerLib")   # AppsFlyer
```
"""

from analysis.attribute.entities.model import CATEGORIES
from analysis.attribute.entities.model import PARTIES
from analysis.attribute.entities.model import Endpoint
from analysis.attribute.entities.model import Entity
from analysis.attribute.entities.model import ImportedEntity
from analysis.attribute.entities.model import ImportedList
from analysis.attribute.entities.model import RegistryError
from analysis.attribute.entities.model import Source
from analysis.attribute.entities.registry import Registry
from analysis.attribute.entities.registry import class_of_frame
from analysis.attribute.entities.registry import load_registry
from analysis.attribute.entities.registry import normalise_host
from analysis.attribute.entities.registry import normalise_name
from analysis.attribute.entities.registry import registry_files

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
