//! The REST API (`/api/v1`): the same operations as the command line, as JSON, with
//! bearer-key authentication. The OpenAPI document is generated from these handlers.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use moat_domain::{
    AiSystem, AliasMove, Dataset, DetectionEvent, Endpoint, Evidence, InventoryRow, KeyInfo,
    ModelVersion, NewEvidence, Review, TrafficRecord, Vendor,
};
use serde::Deserialize;
use utoipa::OpenApi;

use super::{ApiJson, ApiPath, ApiQuery, AppState, Caller};
use crate::error::{ErrorBody, Result};
use crate::service::{
    AiSystemView, AuditEntryView, Classify, ConsistencyProofView, CreatedKey, DatasetDetail,
    InclusionProofView, LineageView, ModelDetail, NewEndpoint, NewKeyRequest, NewSystem,
    RegisterDataset, RegisterModel, VendorInput, VerifyView,
};

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/inventory", get(inventory))
        .route("/models", get(list_models).post(register_model))
        .route("/models/{name}/versions/{version}", get(show_model))
        .route(
            "/models/{name}/versions/{version}/classify",
            post(classify_model),
        )
        .route(
            "/models/{name}/versions/{version}/reviews",
            post(review_model),
        )
        .route("/models/{name}/versions/{version}/lineage", get(lineage))
        .route(
            "/models/{name}/versions/{version}/evidence",
            get(model_evidence),
        )
        .route(
            "/models/{name}/aliases/{alias}",
            put(set_alias).get(alias_history),
        )
        .route("/datasets", get(list_datasets).post(register_dataset))
        .route("/datasets/{name}/versions/{version}", get(show_dataset))
        .route(
            "/datasets/{name}/versions/{version}/reviews",
            post(review_dataset),
        )
        .route(
            "/datasets/{name}/versions/{version}/evidence",
            get(dataset_evidence),
        )
        .route("/vendors", get(list_vendors).post(add_vendor))
        .route("/systems", get(list_systems).post(add_system))
        .route("/endpoints", get(list_endpoints).post(add_endpoint))
        .route("/evidence", post(add_evidence))
        .route("/keys", get(list_keys).post(create_key))
        .route("/keys/{id}/revoke", post(revoke_key))
        .route("/keys/{id}/rotate", post(rotate_key))
        .route("/audit/entries", get(audit_entries))
        .route("/events", get(list_events))
        .route("/traffic", get(list_traffic))
        .route("/audit/checkpoint", get(audit_head).post(audit_checkpoint))
        .route("/audit/proof/{seq}", get(audit_proof))
        .route("/audit/consistency", get(audit_consistency))
        .route("/audit/verify", get(audit_verify))
        .route("/audit/entries/{seq}/erase", post(audit_erase))
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Moat API", description = "AI security control plane: inventory, governance, keys and the tamper-evident audit log. Authenticate with `Authorization: Bearer moat_sk_…` or `x-api-key`."),
    paths(
        healthz, inventory, list_models, register_model, show_model, classify_model, review_model, lineage,
        model_evidence, set_alias, alias_history, list_datasets, register_dataset, show_dataset, review_dataset,
        dataset_evidence, list_vendors, add_vendor, list_systems, add_system, list_endpoints, add_endpoint,
        add_evidence, list_keys, create_key, revoke_key, rotate_key, audit_entries, audit_head, audit_checkpoint,
        audit_proof, audit_consistency, audit_verify, audit_erase, list_events, list_traffic
    ),
    components(schemas(ErrorBody)),
    modifiers(&Security)
)]
struct ApiDoc;

struct Security;

impl utoipa::Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{
            ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme,
        };
        let c = openapi.components.get_or_insert_with(Default::default);
        c.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        c.add_security_scheme(
            "api_key",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("x-api-key"))),
        );
        openapi.security = Some(vec![
            utoipa::openapi::security::SecurityRequirement::new("bearer", Vec::<String>::new()),
            utoipa::openapi::security::SecurityRequirement::new("api_key", Vec::<String>::new()),
        ]);
    }
}

/// The OpenAPI 3.1 document of the API, as JSON.
pub fn openapi_json() -> String {
    ApiDoc::openapi()
        .to_pretty_json()
        .expect("the API document serialises")
}

pub(super) async fn openapi() -> impl IntoResponse {
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        openapi_json(),
    )
}

#[utoipa::path(get, path = "/healthz", responses((status = 200, description = "The server and its store answer")), security(()))]
pub(super) async fn healthz(State(st): State<AppState>) -> Result<Json<serde_json::Value>> {
    st.app.store().check().await?;
    Ok(Json(serde_json::json!({ "status": "ok" })))
}

#[utoipa::path(get, path = "/api/v1/inventory", responses((status = 200, body = Vec<InventoryRow>), (status = 401, body = ErrorBody)))]
pub(super) async fn inventory(
    State(st): State<AppState>,
    Caller(cx): Caller,
) -> Result<Json<Vec<InventoryRow>>> {
    Ok(Json(st.app.inventory(&cx).await?))
}

#[derive(Deserialize, utoipa::IntoParams)]
pub(super) struct NameFilter {
    /// Only this name.
    name: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/models", params(NameFilter), responses((status = 200, body = Vec<ModelVersion>)))]
pub(super) async fn list_models(
    State(st): State<AppState>,
    Caller(cx): Caller,
    ApiQuery(q): ApiQuery<NameFilter>,
) -> Result<Json<Vec<ModelVersion>>> {
    Ok(Json(st.app.list_models(&cx, q.name.as_deref()).await?))
}

#[utoipa::path(post, path = "/api/v1/models", request_body = RegisterModel, responses((status = 201, body = ModelVersion), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(super) async fn register_model(
    State(st): State<AppState>,
    Caller(cx): Caller,
    ApiJson(req): ApiJson<RegisterModel>,
) -> Result<(StatusCode, Json<ModelVersion>)> {
    Ok((
        StatusCode::CREATED,
        Json(st.app.register_model(&cx, req).await?),
    ))
}

#[utoipa::path(get, path = "/api/v1/models/{name}/versions/{version}", responses((status = 200, body = ModelDetail), (status = 404, body = ErrorBody)))]
pub(super) async fn show_model(
    State(st): State<AppState>,
    Caller(cx): Caller,
    ApiPath((name, version)): ApiPath<(String, String)>,
) -> Result<Json<ModelDetail>> {
    Ok(Json(
        st.app.show_model(&cx, &format!("{name}@{version}")).await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/models/{name}/versions/{version}/classify", request_body = Classify, responses((status = 200, body = ModelVersion)))]
pub(super) async fn classify_model(
    State(st): State<AppState>,
    Caller(cx): Caller,
    ApiPath((name, version)): ApiPath<(String, String)>,
    ApiJson(req): ApiJson<Classify>,
) -> Result<Json<ModelVersion>> {
    Ok(Json(
        st.app
            .classify_model(&cx, &format!("{name}@{version}"), req)
            .await?,
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct ReviewRequest {
    notes: String,
}

#[utoipa::path(post, path = "/api/v1/models/{name}/versions/{version}/reviews", request_body = ReviewRequest, responses((status = 201, body = Review)))]
pub(super) async fn review_model(
    State(st): State<AppState>,
    Caller(cx): Caller,
    ApiPath((name, version)): ApiPath<(String, String)>,
    ApiJson(req): ApiJson<ReviewRequest>,
) -> Result<(StatusCode, Json<Review>)> {
    Ok((
        StatusCode::CREATED,
        Json(
            st.app
                .review(&cx, "model", &format!("{name}@{version}"), &req.notes)
                .await?,
        ),
    ))
}

#[utoipa::path(get, path = "/api/v1/models/{name}/versions/{version}/lineage", responses((status = 200, body = LineageView)))]
pub(super) async fn lineage(
    State(st): State<AppState>,
    Caller(cx): Caller,
    ApiPath((name, version)): ApiPath<(String, String)>,
) -> Result<Json<LineageView>> {
    Ok(Json(
        st.app.lineage(&cx, &format!("{name}@{version}")).await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/models/{name}/versions/{version}/evidence", responses((status = 200, body = Vec<Evidence>)))]
pub(super) async fn model_evidence(
    State(st): State<AppState>,
    Caller(cx): Caller,
    ApiPath((name, version)): ApiPath<(String, String)>,
) -> Result<Json<Vec<Evidence>>> {
    Ok(Json(
        st.app
            .list_evidence(&cx, "model", &format!("{name}@{version}"))
            .await?,
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct AliasRequest {
    version: String,
}

#[utoipa::path(put, path = "/api/v1/models/{name}/aliases/{alias}", request_body = AliasRequest, responses((status = 200, body = AliasMove), (status = 403, body = ErrorBody)))]
pub(super) async fn set_alias(
    State(st): State<AppState>,
    Caller(cx): Caller,
    ApiPath((name, alias)): ApiPath<(String, String)>,
    ApiJson(req): ApiJson<AliasRequest>,
) -> Result<Json<AliasMove>> {
    Ok(Json(
        st.app.set_alias(&cx, &name, &alias, &req.version).await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/models/{name}/aliases/{alias}", responses((status = 200, body = Vec<AliasMove>)))]
pub(super) async fn alias_history(
    State(st): State<AppState>,
    Caller(cx): Caller,
    ApiPath((name, alias)): ApiPath<(String, String)>,
) -> Result<Json<Vec<AliasMove>>> {
    Ok(Json(st.app.alias_history(&cx, &name, &alias).await?))
}

#[utoipa::path(get, path = "/api/v1/datasets", params(NameFilter), responses((status = 200, body = Vec<Dataset>)))]
pub(super) async fn list_datasets(
    State(st): State<AppState>,
    Caller(cx): Caller,
    ApiQuery(q): ApiQuery<NameFilter>,
) -> Result<Json<Vec<Dataset>>> {
    Ok(Json(st.app.list_datasets(&cx, q.name.as_deref()).await?))
}

#[utoipa::path(post, path = "/api/v1/datasets", request_body = RegisterDataset, responses((status = 201, body = Dataset)))]
pub(super) async fn register_dataset(
    State(st): State<AppState>,
    Caller(cx): Caller,
    ApiJson(req): ApiJson<RegisterDataset>,
) -> Result<(StatusCode, Json<Dataset>)> {
    Ok((
        StatusCode::CREATED,
        Json(st.app.register_dataset(&cx, req).await?),
    ))
}

#[utoipa::path(get, path = "/api/v1/datasets/{name}/versions/{version}", responses((status = 200, body = DatasetDetail)))]
pub(super) async fn show_dataset(
    State(st): State<AppState>,
    Caller(cx): Caller,
    ApiPath((name, version)): ApiPath<(String, String)>,
) -> Result<Json<DatasetDetail>> {
    Ok(Json(
        st.app
            .show_dataset(&cx, &format!("{name}@{version}"))
            .await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/datasets/{name}/versions/{version}/reviews", request_body = ReviewRequest, responses((status = 201, body = Review)))]
pub(super) async fn review_dataset(
    State(st): State<AppState>,
    Caller(cx): Caller,
    ApiPath((name, version)): ApiPath<(String, String)>,
    ApiJson(req): ApiJson<ReviewRequest>,
) -> Result<(StatusCode, Json<Review>)> {
    Ok((
        StatusCode::CREATED,
        Json(
            st.app
                .review(&cx, "dataset", &format!("{name}@{version}"), &req.notes)
                .await?,
        ),
    ))
}

#[utoipa::path(get, path = "/api/v1/datasets/{name}/versions/{version}/evidence", responses((status = 200, body = Vec<Evidence>)))]
pub(super) async fn dataset_evidence(
    State(st): State<AppState>,
    Caller(cx): Caller,
    ApiPath((name, version)): ApiPath<(String, String)>,
) -> Result<Json<Vec<Evidence>>> {
    Ok(Json(
        st.app
            .list_evidence(&cx, "dataset", &format!("{name}@{version}"))
            .await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/vendors", responses((status = 200, body = Vec<Vendor>)))]
pub(super) async fn list_vendors(
    State(st): State<AppState>,
    Caller(cx): Caller,
) -> Result<Json<Vec<Vendor>>> {
    Ok(Json(st.app.list_vendors(&cx).await?))
}

#[derive(Deserialize, utoipa::IntoParams)]
pub(super) struct UpdateFlag {
    /// Replace an existing vendor record.
    #[serde(default)]
    update: bool,
}

#[utoipa::path(post, path = "/api/v1/vendors", params(UpdateFlag), request_body = VendorInput, responses((status = 201, body = Vendor)))]
pub(super) async fn add_vendor(
    State(st): State<AppState>,
    Caller(cx): Caller,
    ApiQuery(q): ApiQuery<UpdateFlag>,
    ApiJson(req): ApiJson<VendorInput>,
) -> Result<(StatusCode, Json<Vendor>)> {
    Ok((
        StatusCode::CREATED,
        Json(st.app.add_vendor(&cx, req, q.update).await?),
    ))
}

#[utoipa::path(get, path = "/api/v1/systems", responses((status = 200, body = Vec<AiSystemView>)))]
pub(super) async fn list_systems(
    State(st): State<AppState>,
    Caller(cx): Caller,
) -> Result<Json<Vec<AiSystemView>>> {
    Ok(Json(st.app.list_systems(&cx).await?))
}

#[utoipa::path(post, path = "/api/v1/systems", request_body = NewSystem, responses((status = 201, body = AiSystem)))]
pub(super) async fn add_system(
    State(st): State<AppState>,
    Caller(cx): Caller,
    ApiJson(req): ApiJson<NewSystem>,
) -> Result<(StatusCode, Json<AiSystem>)> {
    Ok((
        StatusCode::CREATED,
        Json(st.app.add_system(&cx, req).await?),
    ))
}

#[utoipa::path(get, path = "/api/v1/endpoints", responses((status = 200, body = Vec<Endpoint>)))]
pub(super) async fn list_endpoints(
    State(st): State<AppState>,
    Caller(cx): Caller,
) -> Result<Json<Vec<Endpoint>>> {
    Ok(Json(st.app.list_endpoints(&cx).await?))
}

#[utoipa::path(post, path = "/api/v1/endpoints", request_body = NewEndpoint, responses((status = 201, body = Endpoint)))]
pub(super) async fn add_endpoint(
    State(st): State<AppState>,
    Caller(cx): Caller,
    ApiJson(req): ApiJson<NewEndpoint>,
) -> Result<(StatusCode, Json<Endpoint>)> {
    Ok((
        StatusCode::CREATED,
        Json(st.app.add_endpoint(&cx, req).await?),
    ))
}

#[utoipa::path(post, path = "/api/v1/evidence", request_body = NewEvidence, responses((status = 201, body = Evidence)))]
pub(super) async fn add_evidence(
    State(st): State<AppState>,
    Caller(cx): Caller,
    ApiJson(req): ApiJson<NewEvidence>,
) -> Result<(StatusCode, Json<Evidence>)> {
    Ok((
        StatusCode::CREATED,
        Json(st.app.add_evidence(&cx, req).await?),
    ))
}

#[utoipa::path(get, path = "/api/v1/keys", responses((status = 200, body = Vec<KeyInfo>)))]
pub(super) async fn list_keys(
    State(st): State<AppState>,
    Caller(cx): Caller,
) -> Result<Json<Vec<KeyInfo>>> {
    Ok(Json(st.app.list_keys(&cx).await?))
}

#[utoipa::path(post, path = "/api/v1/keys", request_body = NewKeyRequest, responses((status = 201, body = CreatedKey, description = "The key is in `key`, shown this once")))]
pub(super) async fn create_key(
    State(st): State<AppState>,
    Caller(cx): Caller,
    ApiJson(req): ApiJson<NewKeyRequest>,
) -> Result<(StatusCode, Json<CreatedKey>)> {
    Ok((
        StatusCode::CREATED,
        Json(st.app.create_key(&cx, req).await?),
    ))
}

#[utoipa::path(post, path = "/api/v1/keys/{id}/revoke", responses((status = 200, body = KeyInfo)))]
pub(super) async fn revoke_key(
    State(st): State<AppState>,
    Caller(cx): Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<KeyInfo>> {
    Ok(Json(st.app.revoke_key(&cx, &id).await?))
}

#[derive(Deserialize, utoipa::IntoParams)]
pub(super) struct RotateParams {
    /// Seconds the old key stays valid (default from the configuration).
    overlap_secs: Option<u64>,
}

#[utoipa::path(post, path = "/api/v1/keys/{id}/rotate", params(RotateParams), responses((status = 201, body = CreatedKey)))]
pub(super) async fn rotate_key(
    State(st): State<AppState>,
    Caller(cx): Caller,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<RotateParams>,
) -> Result<(StatusCode, Json<CreatedKey>)> {
    let overlap = q.overlap_secs.map(std::time::Duration::from_secs);
    Ok((
        StatusCode::CREATED,
        Json(st.app.rotate_key(&cx, &id, overlap).await?),
    ))
}

#[derive(Deserialize, utoipa::IntoParams)]
pub(super) struct EntriesParams {
    /// First sequence number.
    #[serde(default)]
    from: u64,
    /// Only entries at or after this time (RFC 3339).
    since: Option<String>,
    /// At most this many (default 100, at most 10000).
    limit: Option<u64>,
}

#[derive(Deserialize, utoipa::IntoParams)]
pub(super) struct EventsParams {
    /// At most this many, newest first (default 100, at most 10000).
    limit: Option<u32>,
}

#[utoipa::path(get, path = "/api/v1/events", params(EventsParams), responses((status = 200, body = Vec<DetectionEvent>)))]
pub(super) async fn list_events(
    State(st): State<AppState>,
    Caller(cx): Caller,
    ApiQuery(q): ApiQuery<EventsParams>,
) -> Result<Json<Vec<DetectionEvent>>> {
    Ok(Json(st.app.list_events(&cx, q.limit.unwrap_or(100)).await?))
}

#[derive(Deserialize, utoipa::IntoParams)]
pub(super) struct TrafficParams {
    /// Only this endpoint's records.
    endpoint: Option<String>,
    /// At most this many, newest first (default 100, at most 10000).
    limit: Option<u32>,
}

#[utoipa::path(get, path = "/api/v1/traffic", params(TrafficParams), responses((status = 200, body = Vec<TrafficRecord>)))]
pub(super) async fn list_traffic(
    State(st): State<AppState>,
    Caller(cx): Caller,
    ApiQuery(q): ApiQuery<TrafficParams>,
) -> Result<Json<Vec<TrafficRecord>>> {
    Ok(Json(
        st.app
            .list_traffic(&cx, q.endpoint.as_deref(), q.limit.unwrap_or(100))
            .await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/audit/entries", params(EntriesParams), responses((status = 200, body = Vec<AuditEntryView>)))]
pub(super) async fn audit_entries(
    State(st): State<AppState>,
    Caller(cx): Caller,
    ApiQuery(q): ApiQuery<EntriesParams>,
) -> Result<Json<Vec<AuditEntryView>>> {
    Ok(Json(
        st.app
            .audit_log(&cx, q.from, q.since.as_deref(), q.limit.unwrap_or(100))
            .await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/audit/checkpoint", responses((status = 200, description = "The latest signed checkpoint (C2SP tlog-checkpoint signed note)", content_type = "text/plain")))]
pub(super) async fn audit_head(
    State(st): State<AppState>,
    Caller(cx): Caller,
) -> Result<impl IntoResponse> {
    let (_, note) = st.app.audit_head(&cx).await?;
    Ok((
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; charset=utf-8",
        )],
        note.unwrap_or_default(),
    ))
}

#[utoipa::path(post, path = "/api/v1/audit/checkpoint", responses((status = 201, description = "A new signed checkpoint kept in the history", content_type = "text/plain")))]
pub(super) async fn audit_checkpoint(
    State(st): State<AppState>,
    Caller(cx): Caller,
) -> Result<impl IntoResponse> {
    let note = st.app.audit_checkpoint(&cx).await?;
    Ok((
        StatusCode::CREATED,
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; charset=utf-8",
        )],
        note,
    ))
}

#[utoipa::path(get, path = "/api/v1/audit/proof/{seq}", responses((status = 200, body = InclusionProofView)))]
pub(super) async fn audit_proof(
    State(st): State<AppState>,
    Caller(cx): Caller,
    ApiPath(seq): ApiPath<u64>,
) -> Result<Json<InclusionProofView>> {
    Ok(Json(st.app.audit_proof(&cx, seq).await?))
}

#[derive(Deserialize, utoipa::IntoParams)]
pub(super) struct ConsistencyParams {
    size1: u64,
    size2: u64,
}

#[utoipa::path(get, path = "/api/v1/audit/consistency", params(ConsistencyParams), responses((status = 200, body = ConsistencyProofView)))]
pub(super) async fn audit_consistency(
    State(st): State<AppState>,
    Caller(cx): Caller,
    ApiQuery(q): ApiQuery<ConsistencyParams>,
) -> Result<Json<ConsistencyProofView>> {
    Ok(Json(st.app.audit_consistency(&cx, q.size1, q.size2).await?))
}

#[utoipa::path(get, path = "/api/v1/audit/verify", responses((status = 200, body = VerifyView)))]
pub(super) async fn audit_verify(
    State(st): State<AppState>,
    Caller(cx): Caller,
) -> Result<Json<VerifyView>> {
    Ok(Json(st.app.audit_verify(&cx, &[]).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct EraseRequest {
    reason: String,
}

#[utoipa::path(post, path = "/api/v1/audit/entries/{seq}/erase", request_body = EraseRequest, responses((status = 204, description = "The details are erased; the entry remains")))]
pub(super) async fn audit_erase(
    State(st): State<AppState>,
    Caller(cx): Caller,
    ApiPath(seq): ApiPath<u64>,
    ApiJson(req): ApiJson<EraseRequest>,
) -> Result<StatusCode> {
    st.app.audit_erase(&cx, seq, &req.reason).await?;
    Ok(StatusCode::NO_CONTENT)
}
