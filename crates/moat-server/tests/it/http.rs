//! The REST API through the router, without a socket: authentication headers, status
//! codes and JSON errors, the OpenAPI document, health, metrics and the dashboard.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt as _;
use moat_server::{router, HttpOptions};
use moat_test_support::store_test;
use tower::ServiceExt as _;

use crate::app;

async fn call(r: &axum::Router, req: Request<Body>) -> (StatusCode, String) {
    let resp = r.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

fn get(path: &str, key: Option<&str>) -> Request<Body> {
    let mut b = Request::get(path);
    if let Some(k) = key {
        b = b.header("authorization", format!("Bearer {k}"));
    }
    b.body(Body::empty()).unwrap()
}

fn post(path: &str, key: &str, json: serde_json::Value) -> Request<Body> {
    Request::post(path)
        .header("x-api-key", key)
        .header("content-type", "application/json")
        .body(Body::from(json.to_string()))
        .unwrap()
}

store_test!(api_round_trip, |store| {
    let (app, _, key) = app(&store).await;
    let r = router(app, HttpOptions::default());
    let (s, body) = call(&r, get("/healthz", None)).await;
    assert_eq!((s, body.as_str()), (StatusCode::OK, "{\"status\":\"ok\"}"));

    let (s, body) = call(&r, get("/api/v1/inventory", None)).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let err: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(err["error"], "unauthenticated");
    assert_eq!(err["source"], "client");
    assert_eq!(
        call(&r, get("/api/v1/inventory", Some("moat_sk_nope")))
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );

    let reg = serde_json::json!({
        "name": "fraud", "version": "1", "owner": "risk", "tier": "high", "sensitivity": "internal",
        "artifacts": [{ "path": "m.onnx", "size": 3, "sha256": "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" }]
    });
    let (s, body) = call(&r, post("/api/v1/models", &key, reg.clone())).await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    let (s, _) = call(&r, post("/api/v1/models", &key, reg.clone())).await;
    assert_eq!(s, StatusCode::CONFLICT);
    let mut bad = reg.clone();
    bad["tier"] = "extreme".into();
    assert_eq!(
        call(&r, post("/api/v1/models", &key, bad)).await.0,
        StatusCode::UNPROCESSABLE_ENTITY
    );

    // Malformed bodies and paths get JSON errors too.
    let raw = Request::post("/api/v1/models")
        .header("authorization", format!("Bearer {key}"))
        .header("content-type", "application/json")
        .body(Body::from("{\"name\": 1"))
        .unwrap();
    let (s, body) = call(&r, raw).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.starts_with("{\"error\":\"invalid\""), "{body}");
    let (s, body) = call(&r, get("/api/v1/audit/proof/abc", Some(&key))).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.contains("\"error\":\"invalid\""), "{body}");

    let (s, body) = call(&r, get("/api/v1/models/fraud/versions/1", Some(&key))).await;
    assert_eq!(s, StatusCode::OK);
    let m: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(m["tier"], "high");
    assert_eq!(
        call(&r, get("/api/v1/models/fraud/versions/9", Some(&key)))
            .await
            .0,
        StatusCode::NOT_FOUND
    );

    // An auditor key gets 403 on writes, 200 on reads.
    let (s, body) = call(
        &r,
        post(
            "/api/v1/keys",
            &key,
            serde_json::json!({ "name": "aud", "role": "auditor" }),
        ),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
    let created: serde_json::Value = serde_json::from_str(&body).unwrap();
    let aud = created["key"].as_str().unwrap().to_owned();
    let (s, body) = call(&r, post("/api/v1/models", &aud, reg)).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert!(
        body.contains("permission `model.register` requires role"),
        "{body}"
    );
    assert_eq!(
        call(&r, get("/api/v1/inventory", Some(&aud))).await.0,
        StatusCode::OK
    );

    let (s, body) = call(&r, get("/api/v1/audit/verify", Some(&aud))).await;
    assert_eq!(s, StatusCode::OK);
    assert!(body.contains("\"ok\":true"), "{body}");
    let (s, body) = call(&r, get("/api/v1/audit/checkpoint", Some(&aud))).await;
    assert_eq!(s, StatusCode::OK);
    assert!(body.starts_with("moat.test/audit\n"), "{body}");
    let (s, body) = call(&r, get("/api/v1/audit/proof/0", Some(&aud))).await;
    assert_eq!(s, StatusCode::OK, "{body}");

    let (s, body) = call(&r, get("/openapi.json", None)).await;
    assert_eq!(s, StatusCode::OK);
    let doc: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert!(doc["paths"]["/api/v1/models"]["post"].is_object());
    assert!(doc["components"]["schemas"]["ModelVersion"].is_object());

    let (s, body) = call(&r, get("/metrics", None)).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        body.contains(
            "moat_http_requests_total{method=\"POST\",route=\"/api/v1/models\",status=\"201\"} 1"
        ),
        "{body}"
    );
    assert!(
        body.contains("moat_inventory_assets{kind=\"model\"} 1"),
        "{body}"
    );

    // The dashboard asks for a key unless it is public; with the key it lists the model.
    let (s, body) = call(&r, get("/", None)).await;
    assert_eq!(s, StatusCode::OK);
    assert!(body.contains("name=\"key\""));
    let (_, body) = call(&r, get("/", Some(&key))).await;
    assert!(
        body.contains("fraud@1") && body.contains("tier-high"),
        "{body}"
    );
});

store_test!(public_dashboard_shows_overdue, |store| {
    let (app, cx, _) = app(&store).await;
    assert!(moat_server::seed_demo(&app).await.unwrap());
    assert!(
        !moat_server::seed_demo(&app).await.unwrap(),
        "seeding twice does nothing"
    );
    let r = router(
        app.clone(),
        HttpOptions {
            public_dashboard: true,
            ..HttpOptions::default()
        },
    );
    let (s, body) = call(&r, get("/", None)).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        body.contains("credit-scoring@2") && body.contains("overdue"),
        "{body}"
    );
    assert!(app.inventory(&cx).await.unwrap().iter().any(|r| r.overdue));
    assert!(app.audit_verify(&cx, &[]).await.unwrap().ok);
});

store_test!(
    dashboard_sessions_hold_no_key_and_end_on_revocation,
    |store| {
        let (app, cx, _) = app(&store).await;
        let k = app
            .create_key(
                &cx,
                moat_server::NewKeyRequest {
                    name: "viewer".into(),
                    role: moat_domain::Role::Auditor,
                    endpoints: vec![],
                    expires_in_secs: None,
                },
            )
            .await
            .unwrap();
        let r = router(app.clone(), HttpOptions::default());
        let login = Request::post("/login")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from(format!("key={}", k.key)))
            .unwrap();
        let resp = r.clone().oneshot(login).await.unwrap();
        assert_eq!(resp.status(), StatusCode::SEE_OTHER);
        let cookie = resp.headers()["set-cookie"].to_str().unwrap().to_owned();
        assert!(
            !cookie.contains(&k.key),
            "the cookie must not carry the key"
        );
        assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"));
        let session = cookie.split(';').next().unwrap().to_owned();
        let page = |session: String| {
            Request::get("/")
                .header("cookie", session)
                .body(Body::empty())
                .unwrap()
        };
        let (_, body) = call(&r, page(session.clone())).await;
        assert!(body.contains("overdue reviews"), "{body}");
        app.revoke_key(&cx, &k.info.id).await.unwrap();
        let (_, body) = call(&r, page(session)).await;
        assert!(
            body.contains("name=\"key\""),
            "a revoked key ends the session: {body}"
        );
        let bad = Request::post("/login")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from("key=nope"))
            .unwrap();
        assert_eq!(call(&r, bad).await.0, StatusCode::UNAUTHORIZED);
    }
);
