"""What a resource type stands for: an environment's ``resource_registry``
read the way Heat reads it, then Heat's own global environment.

The registry maps a type to another type or to a template file::

    resource_registry:
      "My::Server": server.yaml            # a template resource
      "OS::Networking::*": "OS::Neutron::*" # a wildcard, prefix for prefix
      resources:
        db: {"OS::Nova::Server": db.yaml}  # for one resource only

A mapping may lead to another mapping; the chain is followed. Under
``resources``, a resource is named exactly (Heat takes patterns there only
for hooks and restricted actions); the user's registry comes before Heat's
global one.
"""

# Heat's global environment (what every Heat ships in environment.d): old
# names of types that live on under new ones.
GLOBAL = {
    "OS::Quantum*": "OS::Neutron*",
    "OS::Metering::Alarm": "OS::Aodh::Alarm",
    "OS::Ceilometer::Alarm": "OS::Aodh::Alarm",
    "OS::Ceilometer::GnocchiResourcesAlarm": "OS::Aodh::GnocchiResourcesAlarm",
    "OS::Ceilometer::GnocchiAggregationByMetricsAlarm": "OS::Aodh::GnocchiAggregationByMetricsAlarm",
    "OS::Ceilometer::GnocchiAggregationByResourcesAlarm": "OS::Aodh::GnocchiAggregationByResourcesAlarm",
    "OS::Ceilometer::CombinationAlarm": "OS::Aodh::CombinationAlarm",
}

# A chain longer than this is a loop (A -> B -> A).
_MAX_CHAIN = 20


class Registry:
    def __init__(self, mapping=None):
        self.mapping = mapping if isinstance(mapping, dict) else {}
        per_resource = self.mapping.get("resources")
        self.per_resource = per_resource if isinstance(per_resource, dict) else {}

    def target(self, rtype, name=None):
        """The type or template file ``rtype`` stands for, for the resource
        ``name`` (when given)."""
        seen = {rtype}
        for _ in range(_MAX_CHAIN):
            step = self._step(rtype, name)
            if step is None or step in seen:
                return rtype
            seen.add(step)
            rtype = step
        return rtype

    def _step(self, rtype, name):
        mapping = self.per_resource.get(name) if name is not None else None
        if isinstance(mapping, dict) and isinstance(mapping.get(rtype), str):
            return mapping[rtype]
        for mapping in (self.mapping, GLOBAL):
            found = _lookup(mapping, rtype)
            if found is not None:
                return found
        return None


def _lookup(mapping, rtype):
    value = mapping.get(rtype)
    if isinstance(value, str):
        return value
    # The longest wildcard that matches wins.
    for pattern in sorted((k for k in mapping if isinstance(k, str) and k.endswith("*")), key=len, reverse=True):
        if rtype.startswith(pattern[:-1]) and isinstance(mapping[pattern], str):
            value = mapping[pattern]
            return value[:-1] + rtype[len(pattern) - 1:] if value.endswith("*") else value
    return None
