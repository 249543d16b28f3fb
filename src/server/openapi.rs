//! The OpenAPI document served at `/v1/openapi.json`, built from the same
//! route table the tests check the server against.

use serde_json::{Value, json};

/// (method, path, summary, success status, request body type).
pub const ROUTES: &[(&str, &str, &str, u16, Option<&str>)] = &[
    ("get", "/v1/me", "The caller and their roles", 200, None),
    (
        "get",
        "/v1/queue",
        "A page of the approvals queue (roles, status, risk, team, search, sort, direction, cursor, limit)",
        200,
        None,
    ),
    (
        "get",
        "/v1/queue/count",
        "How many items match a queue filter",
        200,
        None,
    ),
    (
        "get",
        "/v1/workflows/{id}",
        "One workflow; ETag is its version",
        200,
        None,
    ),
    (
        "post",
        "/v1/workflows/{id}/steps/{step_id}/decision",
        "Decide the current step (If-Match and Idempotency-Key required)",
        200,
        Some("DecisionBody"),
    ),
    (
        "get",
        "/v1/workflows/{id}/review",
        "The workflow's ethics review, or null",
        200,
        None,
    ),
    (
        "post",
        "/v1/workflows/{id}/review",
        "Assign the workflow's ethics review",
        201,
        Some("AssignBody"),
    ),
    ("get", "/v1/reviews", "The caller's reviews", 200, None),
    ("get", "/v1/reviews/{id}", "One review", 200, None),
    (
        "put",
        "/v1/reviews/{id}/draft",
        "Save a draft",
        200,
        Some("DraftBody"),
    ),
    (
        "post",
        "/v1/reviews/{id}/submit",
        "Submit a review (immutable afterwards)",
        200,
        Some("SubmitBody"),
    ),
    (
        "get",
        "/v1/review-templates/{id}",
        "A review template",
        200,
        None,
    ),
    ("get", "/v1/agents", "Agents matching a search", 200, None),
    ("get", "/v1/agents/{id}", "One agent", 200, None),
    (
        "get",
        "/v1/agents/{id}/audits",
        "An agent's bias audits, latest first",
        200,
        None,
    ),
    (
        "post",
        "/v1/audits",
        "Record a bias audit from group counts",
        201,
        Some("AuditSubmission"),
    ),
    (
        "get",
        "/v1/audits/verify",
        "Check the audit trail's hash chain",
        200,
        None,
    ),
    (
        "get",
        "/v1/deployments",
        "Deployments by status, newest first, by cursor",
        200,
        None,
    ),
    (
        "post",
        "/v1/deployments",
        "Record a deployment request",
        201,
        Some("Manifest"),
    ),
    (
        "post",
        "/v1/deployments/check",
        "Evaluate a manifest without recording it",
        200,
        Some("Manifest"),
    ),
    (
        "get",
        "/v1/deployments/{id}",
        "One deployment request",
        200,
        None,
    ),
    (
        "get",
        "/v1/dashboard",
        "The blocked-deployments figures",
        200,
        None,
    ),
    ("get", "/v1/policies", "Every policy", 200, None),
    (
        "get",
        "/v1/policies/reach",
        "How many agents each policy triggers on",
        200,
        None,
    ),
    (
        "get",
        "/v1/trail/{entity_type}/{entity_id}",
        "One entity's audit trail",
        200,
        None,
    ),
    (
        "get",
        "/v1/changes",
        "Entity changes after a monotonic cursor (since, limit)",
        200,
        None,
    ),
    ("get", "/v1/openapi.json", "This document", 200, None),
];

fn error_responses() -> Value {
    let error = json!({ "description": "error", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } });
    json!({
        "400": error, "401": error, "403": error, "404": error, "409": error,
        "412": error, "413": error, "422": error, "428": error, "503": error
    })
}

pub fn document() -> Value {
    let mut paths = serde_json::Map::new();
    for (method, path, summary, status, request) in ROUTES {
        let mut responses = error_responses();
        responses[status.to_string()] =
            json!({ "description": "success", "content": { "application/json": {} } });
        let mut operation = json!({
            "summary": summary,
            "responses": responses,
            "security": if *path == "/v1/openapi.json" { json!([]) } else { json!([{ "bearer": [] }]) },
        });
        let parameters: Vec<Value> = path
            .split('/')
            .filter_map(|part| part.strip_prefix('{').and_then(|p| p.strip_suffix('}')))
            .map(|name| json!({ "name": name, "in": "path", "required": true, "schema": { "type": "string" } }))
            .collect();
        if !parameters.is_empty() {
            operation["parameters"] = Value::Array(parameters);
        }
        if let Some(request) = request {
            operation["requestBody"] = json!({ "required": true, "content": { "application/json": { "schema": { "description": request } } } });
        }
        let entry = paths.entry(path.to_string()).or_insert_with(|| json!({}));
        entry[*method] = operation;
    }
    json!({
        "openapi": "3.0.3",
        "info": { "title": "Gavel governance API", "version": env!("CARGO_PKG_VERSION") },
        "paths": paths,
        "components": {
            "securitySchemes": { "bearer": { "type": "http", "scheme": "bearer" } },
            "schemas": { "Error": {
                "type": "object",
                "required": ["error", "message"],
                "properties": { "error": { "type": "string" }, "message": { "type": "string" } }
            } }
        }
    })
}
