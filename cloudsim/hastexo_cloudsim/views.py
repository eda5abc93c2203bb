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


def resources_body(stack, base):
    result = []
    for name, res in stack.resources.items():
        result.append({
            "resource_name": name,
            "logical_resource_id": name,
            "physical_resource_id": res["reference"] if outputs_visible(stack) else "",
            "resource_type": res["type"],
            "resource_status": stack.state,
            "resource_status_reason": "state changed",
            "updated_time": _time(stack.updated or stack.created),
            "required_by": [],
            "links": [{"href": f"{stack_url(base, stack)}/resources/{name}", "rel": "self"},
                      {"href": stack_url(base, stack), "rel": "stack"}],
        })
    return result


def event_body(event, stack, base):
    return dict(event, links=[
        {"href": f"{stack_url(base, stack)}/resources/{event['resource_name']}/events/{event['id']}",
         "rel": "self"},
        {"href": stack_url(base, stack), "rel": "stack"},
    ])


def _text(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(map(str, value))
    return str(value)
