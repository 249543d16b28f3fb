//! `/scim/v2`: the organisation's directory provisions people and groups
//! (RFC 7644), authenticated by the directory's own token (`gavel scim
//! token`), never a person's. Served only when the config has `[scim]`.
//!
//! What a hostile caller can do without the token: nothing but a 401 (the
//! token is checked by its hash before anything is read). With it: what a
//! directory does, bounded: a list answers at most `MAX_RESULTS`, a PATCH
//! carries at most `MAX_OPERATIONS`, a group at most `MAX_MEMBERS`, a
//! body at most the server's limit; filters other than equality on an
//! indexed attribute are refused, never answered by a scan.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Map, Value};

use super::state::{AppState, ServerState};
use crate::backend::BackendError;
use crate::backend::local::directory::{
    DirectoryRequest, DirectoryResource, DirectorySettings, Unchanged,
};
use crate::domain::scim::error::ScimError;
use crate::domain::scim::schema::{self, Kind};
use crate::domain::scim::{filter, patch, resource};

const CONTENT_TYPE: &str = "application/scim+json";

/// The SCIM routes, to nest at `/scim/v2`.
pub(super) fn routes() -> Router<Arc<ServerState>> {
    Router::new()
        .route("/ServiceProviderConfig", get(service_provider_config))
        .route("/ResourceTypes", get(resource_types))
        .route("/ResourceTypes/{id}", get(resource_type))
        .route("/Schemas", get(schemas))
        .route("/Schemas/{id}", get(one_schema))
        .route(
            "/.search",
            post(
                |State(state): AppState, headers: HeaderMap, body: Bytes| async move {
                    respond(search_across(&state, &headers, &body).await)
                },
            ),
        )
        .merge(collection(Kind::User))
        .merge(collection(Kind::Group))
        .fallback(|| async { ScimError::new(404, None, "no such SCIM endpoint").into_response() })
}

/// A kind's collection: `/Users` or `/Groups`, its `/.search`, and each
/// resource by id.
fn collection(kind: Kind) -> Router<Arc<ServerState>> {
    type Params = Query<HashMap<String, String>>;
    let endpoint = kind.endpoint();
    Router::new()
        .route(
            endpoint,
            get(move |State(state): AppState, headers: HeaderMap, Query(query): Params| async move {
                respond(list(&state, &headers, kind, query).await)
            })
            .post(
                move |State(state): AppState, headers: HeaderMap, Query(query): Params, body: Bytes| async move {
                    respond(create(&state, &headers, kind, &body, &query).await)
                },
            ),
        )
        .route(
            &format!("{endpoint}/.search"),
            post(move |State(state): AppState, headers: HeaderMap, body: Bytes| async move {
                respond(search(&state, &headers, kind, &body).await)
            }),
        )
        .route(
            &format!("{endpoint}/{{id}}"),
            get(
                move |State(state): AppState, headers: HeaderMap, Path(id): Path<String>, Query(query): Params| async move {
                    respond(get_one(&state, &headers, kind, id, &query).await)
                },
            )
            .put(
                move |State(state): AppState,
                      headers: HeaderMap,
                      Path(id): Path<String>,
                      Query(query): Params,
                      body: Bytes| async move {
                    respond(change(&state, &headers, kind, id, &body, true, &query).await)
                },
            )
            .patch(
                move |State(state): AppState,
                      headers: HeaderMap,
                      Path(id): Path<String>,
                      Query(query): Params,
                      body: Bytes| async move {
                    respond(change(&state, &headers, kind, id, &body, false, &query).await)
                },
            )
            .delete(
                move |State(state): AppState, headers: HeaderMap, Path(id): Path<String>| async move {
                    respond(delete(&state, &headers, kind, id).await)
                },
            ),
        )
}

impl IntoResponse for ScimError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::BAD_REQUEST);
        scim_json(status, &self.body())
    }
}

fn scim_json(status: StatusCode, body: &Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE))],
        body.to_string(),
    )
        .into_response()
}

fn from_backend(err: BackendError) -> ScimError {
    match err {
        BackendError::NotFound { entity, id } => ScimError::not_found(entity, &id),
        BackendError::Conflict(detail) => ScimError::new(409, Some("uniqueness"), detail),
        BackendError::Invalid(detail) => ScimError::bad("invalidValue", detail),
        BackendError::Unauthenticated(detail) => ScimError::new(401, None, detail),
        other => {
            tracing::error!(err = %other, "a SCIM request failed in the store");
            ScimError::new(500, None, "the store failed; try again")
        }
    }
}

/// The directory's settings, once its token is checked: a request that
/// does not carry the directory's token learns nothing else.
async fn directory(
    state: &ServerState,
    headers: &HeaderMap,
) -> Result<Arc<DirectorySettings>, ScimError> {
    let settings = state
        .scim
        .clone()
        .ok_or_else(|| ScimError::new(404, None, "this server does not take SCIM"))?;
    let unauthorized = || {
        ScimError::new(
            401,
            None,
            "the directory's bearer token is required (`gavel scim token`)",
        )
    };
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|token| !token.is_empty() && token.len() <= 256)
        .ok_or_else(unauthorized)?
        .to_owned();
    let store = Arc::clone(&state.store);
    let known = blocking(move || store.is_directory_token(&token)).await?;
    if !known {
        return Err(unauthorized());
    }
    tracing::Span::current().record("user", crate::backend::local::directory::DIRECTORY_SCIM);
    Ok(settings)
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> crate::backend::Result<T> + Send + 'static,
) -> Result<T, ScimError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|_| ScimError::new(500, None, "a store task failed"))?
        .map_err(from_backend)
}

/// Where this server's SCIM resources live, as the directory reached it.
fn base(state: &ServerState, headers: &HeaderMap) -> String {
    if let Some(base) = state.scim_base.as_deref() {
        return base.trim_end_matches('/').to_owned();
    }
    let host = headers
        .get(header::HOST)
        .and_then(|value| value.to_str().ok())
        .filter(|host| host.len() <= 255 && !host.contains(['/', '\\', '@', ' ']))
        .unwrap_or("localhost");
    let scheme = if state.tls { "https" } else { "http" };
    format!("{scheme}://{host}/scim/v2")
}

/// The request's id, which every trail event of it carries.
fn request_id(headers: &HeaderMap) -> String {
    headers
        .get("x-request-id")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .chars()
        .take(128)
        .collect()
}

/// A resource as the directory reads it.
fn shown(resource: &DirectoryResource, base: &str, query: &HashMap<String, String>) -> Value {
    let mut body = Map::new();
    body.insert(
        "schemas".into(),
        Value::Array(vec![resource.kind.schema().into()]),
    );
    body.insert("id".into(), resource.id.clone().into());
    body.extend(resource.attributes.clone());
    body.insert(
        "meta".into(),
        serde_json::json!({
            "resourceType": resource.kind.name(),
            "created": resource.created.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "lastModified": resource.updated.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "location": format!("{base}{}/{}", resource.kind.endpoint(), resource.id),
            "version": etag(resource.version),
        }),
    );
    Value::Object(resource::project(
        resource.kind,
        &body,
        query.get("attributes").map(String::as_str),
        query.get("excludedAttributes").map(String::as_str),
    ))
}

fn etag(version: i64) -> String {
    format!("W/\"{version}\"")
}

/// `If-Match: W/"n"` as a version (`*` or none: any).
fn if_match(headers: &HeaderMap) -> Result<Option<i64>, ScimError> {
    let Some(value) = headers
        .get(header::IF_MATCH)
        .and_then(|value| value.to_str().ok())
    else {
        return Ok(None);
    };
    let value = value.trim();
    if value == "*" {
        return Ok(None);
    }
    value
        .trim_start_matches("W/")
        .trim_matches('"')
        .parse()
        .map(Some)
        .map_err(|_| {
            ScimError::bad(
                "invalidValue",
                format!("If-Match {value:?} is no version this server gave"),
            )
        })
}

fn answer(
    status: StatusCode,
    resource: &DirectoryResource,
    base: &str,
    query: &HashMap<String, String>,
) -> Response {
    let mut response = scim_json(status, &shown(resource, base, query));
    if let Ok(tag) = HeaderValue::from_str(&etag(resource.version)) {
        response.headers_mut().insert(header::ETAG, tag);
    }
    if status == StatusCode::CREATED
        && let Ok(location) = HeaderValue::from_str(&format!(
            "{base}{}/{}",
            resource.kind.endpoint(),
            resource.id
        ))
    {
        response.headers_mut().insert(header::LOCATION, location);
    }
    response
}

fn parse_body(body: &Bytes) -> Result<Value, ScimError> {
    serde_json::from_slice(body)
        .map_err(|err| ScimError::bad("invalidSyntax", format!("the body is not JSON: {err}")))
}

async fn service_provider_config(State(state): AppState, headers: HeaderMap) -> Response {
    match directory(&state, &headers).await {
        Ok(_) => scim_json(
            StatusCode::OK,
            &schema::service_provider_config(&base(&state, &headers)),
        ),
        Err(err) => err.into_response(),
    }
}

/// A discovery endpoint: every kind's document (`id` none), or the one
/// whose `key` is `id`.
async fn discovery(
    state: &ServerState,
    headers: &HeaderMap,
    id: Option<String>,
    what: &str,
    key: fn(Kind) -> &'static str,
    document: fn(Kind, &str) -> Value,
) -> Response {
    if let Err(err) = directory(state, headers).await {
        return err.into_response();
    }
    let base = base(state, headers);
    let kinds = [Kind::User, Kind::Group];
    match id {
        None => {
            let documents: Vec<Value> = kinds.map(|kind| document(kind, &base)).to_vec();
            scim_json(StatusCode::OK, &schema::list(documents, kinds.len(), 1))
        }
        Some(id) => match kinds.into_iter().find(|kind| key(*kind) == id) {
            Some(kind) => scim_json(StatusCode::OK, &document(kind, &base)),
            None => ScimError::not_found(what, &id).into_response(),
        },
    }
}

async fn resource_types(State(state): AppState, headers: HeaderMap) -> Response {
    discovery(
        &state,
        &headers,
        None,
        "resource type",
        Kind::name,
        schema::resource_type_document,
    )
    .await
}

async fn resource_type(
    State(state): AppState,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    discovery(
        &state,
        &headers,
        Some(id),
        "resource type",
        Kind::name,
        schema::resource_type_document,
    )
    .await
}

async fn schemas(State(state): AppState, headers: HeaderMap) -> Response {
    discovery(
        &state,
        &headers,
        None,
        "schema",
        Kind::schema,
        schema::schema_document,
    )
    .await
}

async fn one_schema(
    State(state): AppState,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    discovery(
        &state,
        &headers,
        Some(id),
        "schema",
        Kind::schema,
        schema::schema_document,
    )
    .await
}

/// A page of a collection: `filter`, `startIndex` (1-based), `count`.
async fn list(
    state: &ServerState,
    headers: &HeaderMap,
    kind: Kind,
    query: HashMap<String, String>,
) -> Result<Response, ScimError> {
    directory(state, headers).await?;
    let conditions = match query.get("filter").map(String::as_str) {
        None | Some("") => Vec::new(),
        Some(text) => filter::parse(kind, text)?,
    };
    let (start_index, count) = paging(&query)?;
    let store = Arc::clone(&state.store);
    let (total, resources) =
        blocking(move || store.directory_list(kind, &conditions, start_index, count)).await?;
    let base = base(state, headers);
    let shown: Vec<Value> = resources
        .iter()
        .map(|resource| shown(resource, &base, &query))
        .collect();
    Ok(scim_json(
        StatusCode::OK,
        &schema::list(
            shown,
            usize::try_from(total).unwrap_or(usize::MAX),
            start_index,
        ),
    ))
}

/// A SearchRequest body's parameters, as a list's query.
fn search_query(body: &Bytes) -> Result<HashMap<String, String>, ScimError> {
    let body = parse_body(body)?;
    let mut query = HashMap::new();
    for name in ["filter", "startIndex", "count"] {
        if let Some(value) = body.get(name) {
            let text = value
                .as_str()
                .map_or_else(|| value.to_string(), str::to_owned);
            query.insert(name.to_owned(), text);
        }
    }
    for name in ["attributes", "excludedAttributes"] {
        if let Some(value) = body.get(name) {
            let text = match value {
                Value::Array(items) => items
                    .iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(","),
                other => other.as_str().unwrap_or_default().to_owned(),
            };
            query.insert(name.to_owned(), text);
        }
    }
    Ok(query)
}

/// `POST /{Users|Groups}/.search`: a list, its parameters in the body.
async fn search(
    state: &ServerState,
    headers: &HeaderMap,
    kind: Kind,
    body: &Bytes,
) -> Result<Response, ScimError> {
    list(state, headers, kind, search_query(body)?).await
}

/// `POST /.search`: users, then groups, as one list. A filter on an
/// attribute one kind does not have matches none of that kind.
async fn search_across(
    state: &ServerState,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<Response, ScimError> {
    directory(state, headers).await?;
    let query = search_query(body)?;
    let (start_index, count) = paging(&query)?;
    let filter = query.get("filter").map(String::as_str).unwrap_or_default();
    let conditions = |kind: Kind| match filter {
        "" => Ok(Some(Vec::new())),
        text => match filter::parse(kind, text) {
            Ok(conditions) => Ok(Some(conditions)),
            Err(err) => Err(err),
        },
    };
    let (users, groups) = (conditions(Kind::User), conditions(Kind::Group));
    if let (Err(err), Err(_)) = (&users, &groups) {
        return Err(err.clone());
    }
    let (users, groups) = (users.ok().flatten(), groups.ok().flatten());
    let store = Arc::clone(&state.store);
    let (total, found) = blocking(move || {
        let (mut total, mut found) = (0, Vec::new());
        let mut skip = start_index - 1;
        for (kind, conditions) in [(Kind::User, users), (Kind::Group, groups)] {
            let Some(conditions) = conditions else {
                continue;
            };
            let want = count - found.len();
            let (all, page) = store.directory_list(kind, &conditions, skip + 1, want)?;
            total += all;
            skip = skip.saturating_sub(usize::try_from(all).unwrap_or(usize::MAX));
            found.extend(page);
        }
        Ok((total, found))
    })
    .await?;
    let base = base(state, headers);
    let shown: Vec<Value> = found
        .iter()
        .map(|resource| shown(resource, &base, &query))
        .collect();
    Ok(scim_json(
        StatusCode::OK,
        &schema::list(
            shown,
            usize::try_from(total).unwrap_or(usize::MAX),
            start_index,
        ),
    ))
}

/// `startIndex` (1-based) and `count` (at most `MAX_RESULTS`).
fn paging(query: &HashMap<String, String>) -> Result<(usize, usize), ScimError> {
    let number = |name: &str, default: i64| -> Result<i64, ScimError> {
        query.get(name).map_or(Ok(default), |text| {
            text.trim().parse().map_err(|_| {
                ScimError::bad("invalidValue", format!("{name} must be a whole number"))
            })
        })
    };
    let start_index = number("startIndex", 1)?.max(1) as usize;
    let count =
        number("count", schema::MAX_RESULTS as i64)?.clamp(0, schema::MAX_RESULTS as i64) as usize;
    Ok((start_index, count))
}

async fn get_one(
    state: &ServerState,
    headers: &HeaderMap,
    kind: Kind,
    id: String,
    query: &HashMap<String, String>,
) -> Result<Response, ScimError> {
    directory(state, headers).await?;
    let store = Arc::clone(&state.store);
    let resource = blocking(move || store.directory_resource(kind, &id)).await?;
    Ok(answer(
        StatusCode::OK,
        &resource,
        &base(state, headers),
        query,
    ))
}

async fn create(
    state: &ServerState,
    headers: &HeaderMap,
    kind: Kind,
    body: &Bytes,
    query: &HashMap<String, String>,
) -> Result<Response, ScimError> {
    let settings = directory(state, headers).await?;
    let attributes = resource::normalise(kind, &parse_body(body)?)?;
    resource::check_required(kind, &attributes)?;
    let store = Arc::clone(&state.store);
    let request_id = request_id(headers);
    let created = blocking(move || {
        let request = DirectoryRequest {
            settings: &settings,
            request_id: &request_id,
            now: store.now(),
        };
        store.directory_create(kind, attributes, &request)
    })
    .await?;
    Ok(answer(
        StatusCode::CREATED,
        &created,
        &base(state, headers),
        query,
    ))
}

/// A PUT (`replace`) or a PATCH.
async fn change(
    state: &ServerState,
    headers: &HeaderMap,
    kind: Kind,
    id: String,
    body: &Bytes,
    replace: bool,
    query: &HashMap<String, String>,
) -> Result<Response, ScimError> {
    let settings = directory(state, headers).await?;
    let body = parse_body(body)?;
    let version = if_match(headers)?;
    // Checked before the store's writer is taken: a bad body costs no lock.
    let replacement = if replace {
        let attributes = resource::normalise(kind, &body)?;
        resource::check_required(kind, &attributes)?;
        Some(attributes)
    } else {
        None
    };
    let store = Arc::clone(&state.store);
    let request_id = request_id(headers);
    let changed = blocking(move || {
        let request = DirectoryRequest {
            settings: &settings,
            request_id: &request_id,
            now: store.now(),
        };
        store.directory_change(
            kind,
            &id,
            version,
            |before| match replacement {
                Some(attributes) => Ok(attributes),
                None => patch::apply(kind, before, &body),
            },
            &request,
        )
    })
    .await?;
    match changed {
        Ok(resource) => Ok(answer(
            StatusCode::OK,
            &resource,
            &base(state, headers),
            query,
        )),
        // A PATCH's own error keeps its scimType (noTarget, invalidPath...).
        Err(Unchanged::Refused(err)) => Err(err),
        Err(Unchanged::Stale { version }) => Err(ScimError::new(
            412,
            None,
            format!(
                "the resource is at version {} now: read it again",
                etag(version)
            ),
        )),
    }
}

async fn delete(
    state: &ServerState,
    headers: &HeaderMap,
    kind: Kind,
    id: String,
) -> Result<Response, ScimError> {
    let settings = directory(state, headers).await?;
    let store = Arc::clone(&state.store);
    let request_id = request_id(headers);
    blocking(move || {
        let request = DirectoryRequest {
            settings: &settings,
            request_id: &request_id,
            now: store.now(),
        };
        store.directory_delete(kind, &id, &request)
    })
    .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

fn respond(result: Result<Response, ScimError>) -> Response {
    result.unwrap_or_else(IntoResponse::into_response)
}
