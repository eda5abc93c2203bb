"""How the fake Heat renders stacks, outputs, resources and events as JSON."""

from .heat import outputs_visible
from .keystone import isotime


def _time(ts):
    return isotime(ts).split(".")[0] + "Z" if ts else None


def stack_url(base, stack):
    return f"{base}/stacks/{stack.name}/{stack.id}"


def stack_body(stack, base, full=False, resolve_outputs=True):
    body = {
        "id": stack.id,
        "stack_name": stack.name,
        "description": stack.description,
        "creation_time": _time(stack.created),
        "updated_time": _time(stack.updated),
        "deletion_time": _time(stack.deleted_at),
        "stack_status": stack.state,
        "stack_status_reason": stack.reason,
        "stack_owner": None,
        "parent": None,
        "tags": stack.tags,
        "project": stack.project_id,
        "stack_user_project_id": stack.project_id,
        "links": [{"href": stack_url(base, stack), "rel": "self"}],
    }
    if full:
        params = {k: ("******" if k in stack.hidden else _text(v)) for k, v in stack.parameters.items()}
        params.update({"OS::stack_id": stack.id, "OS::stack_name": stack.name,
                       "OS::project_id": stack.project_id})
        body.update({
            "parameters": params,
            "template_description": stack.description,
            "timeout_mins": stack.timeout_mins,
            "disable_rollback": stack.disable_rollback,
            "capabilities": [],
            "notification_topics": [],
        })
        if resolve_outputs:
            body["outputs"] = outputs(stack)
    return body


def outputs(stack):
    visible = outputs_visible(stack)
    return [dict(out, output_value=out["output_value"] if visible else None) for out in stack.outputs]


def resource_body(stack, name, base, detail=False, with_attr=()):
    """One resource as Heat's resource list (or, with ``detail``, show) has it."""
    res = stack.resources[name]
    action, status, reason, since = stack.resource_state(name)
    created = action == "CREATE" and status != "COMPLETE"
    url = f"{stack_url(base, stack)}/resources/{name}"
    body = {
        "resource_name": name,
        "logical_resource_id": name,
        "physical_resource_id": "" if created or stack.action == "DELETE" and status == "COMPLETE"
        else res["reference"],
        "resource_type": res["type"],
        "resource_status": f"{action}_{status}",
        "resource_status_reason": reason,
        "creation_time": _time(stack.created),
        "updated_time": _time(since or stack.created),
        "required_by": stack.required_by(name),
        "links": [{"href": url, "rel": "self"}, {"href": stack_url(base, stack), "rel": "stack"}],
    }
    if detail:
        decl = (stack.template.get("resources") or {}).get(name) or {}
        attrs = res.get("attributes") or {}
        shown = dict(attrs.get("show") or {k: v for k, v in attrs.items() if k != "show"})
        for attr in with_attr:
            shown.setdefault(attr, attrs.get(attr))
        body["description"] = decl.get("description", "") if isinstance(decl, dict) else ""
        body["attributes"] = shown
    return body


def resources_body(stack, base, names=None, detail=False):
    return [resource_body(stack, name, base, detail) for name in (stack.resources if names is None else names)]


def event_body(event, stack, base, detail=True):
    """An event as Heat's event list (summary keys, or all with ``detail``) and show have it."""
    resource = f"{stack_url(base, stack)}/resources/{event['resource_name']}"
    body = {k: v for k, v in event.items() if not k.startswith("_")}
    # Heat's API joins the action into the status ("CREATE_COMPLETE") and
    # leaves the action out: its engine's split is not part of the API.
    body["resource_status"] = f"{body.pop('resource_action')}_{body['resource_status']}"
    if not detail:
        body.pop("resource_properties", None)
    body["links"] = [{"href": f"{resource}/events/{event['id']}", "rel": "self"},
                     {"href": resource, "rel": "resource"},
                     {"href": stack_url(base, stack), "rel": "stack"}]
    return body


def _text(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(map(str, value))
    return str(value)


def resource_preview(stack, name, with_properties=False):
    """A resource as Heat's previews list it: who it is and what it is."""
    res = stack.resources[name]
    body = {
        "resource_name": name,
        "resource_type": res["type"],
        "resource_identity": {"stack_name": stack.name, "stack_id": stack.id, "tenant": stack.project_id,
                              "path": f"/resources/{name}"},
        "stack_identity": {"stack_name": stack.name, "stack_id": stack.id, "tenant": stack.project_id,
                           "path": ""},
        "stack_name": stack.name,
        "physical_resource_id": "",
        "resource_action": "INIT",
        "resource_status": "COMPLETE",
        "resource_status_reason": "",
        "required_by": stack.required_by(name),
        "description": "",
        "updated_time": _time(stack.updated or stack.created),
        "creation_time": _time(stack.created),
        "metadata": (stack.metadata or {}).get(name) or {},
    }
    if with_properties:
        body["properties"] = res.get("properties") or {}
    return body


def preview_body(stack, base):
    """Heat's create preview: the stack, and its resources with their properties."""
    body = stack_body(stack, base, full=True, resolve_outputs=False)
    for key in ("stack_status", "stack_status_reason"):  # a preview has no state
        del body[key]
    body["resources"] = [resource_preview(stack, name, True) for name in stack.resources]
    return body


def update_preview_body(stack, changes, plan_stack):
    """Heat's update preview: what is deleted or updated is shown as it is now,
    the rest as it would be."""
    return {"resource_changes": {
        kind: [resource_preview(stack if kind in ("deleted", "updated") else plan_stack, name)
               for name in names]
        for kind, names in changes.items()}}
