//! xAPI 1.0.3's Alternate Request Syntax (Communication 1.3): what is refused, and the limits
//! it is held to. The form's header fields are the request's headers, credentials included; a
//! malformed alternate request is refused with 400 and changes nothing; and a form is held to
//! the body limit and the rate limit of the direct request, counted against the caller it
//! names.

mod support;

use futures_util::future::join_all;
use serde_json::{Value, json};
use support::alternate::*;
use support::xapi::*;
use support::{Backend, Method, Reply, TestApp};
use uuid::Uuid;

// Headers in the form (Communication 1.3.s3.b6-b8) -------------------------------------------

/// 1.3.s3.b7: the form's `Authorization` and `X-Experience-API-Version` are the request's
/// headers, over any sent in the HTTP header: a version the LRS does not speak is 400, wrong
/// credentials 401 with the Basic challenge, none at all 401, a client that may not write 403
/// (also when the HTTP header carries the token of one that may), and a bearer token works as
/// Basic credentials do. Field names are case-insensitive, as
/// header names are.
async fn the_form_s_header_fields_are_the_request_s_headers(app: TestApp) {
    let lrs = Lrs::new(&app, "Acme Learning").await;
    let auth = basic(&lrs);
    let content = base().to_string();
    let post = |form: Vec<(&'static str, String)>, headers: Vec<(&'static str, String)>| {
        let app = &app;
        async move {
            let form: Vec<(&str, &str)> = form.iter().map(|(n, v)| (*n, v.as_str())).collect();
            let headers: Vec<(&str, &str)> =
                headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
            alternate(app, "/statements", "POST", &form, &headers).await
        }
    };
    let good_headers = vec![
        ("Authorization", auth.clone()),
        ("X-Experience-API-Version", VERSION.to_owned()),
    ];

    let old = post(
        vec![
            ("X-Experience-API-Version", "0.8".into()),
            ("content", content.clone()),
        ],
        good_headers.clone(),
    )
    .await;
    old.expect_field_error(400, "X-Experience-API-Version");

    let mut wrong = lrs.clone();
    wrong.client.client_secret = "not-the-secret".into();
    let refused = post(
        vec![
            ("Authorization", basic(&wrong)),
            ("content", content.clone()),
        ],
        good_headers.clone(),
    )
    .await;
    refused.expect_problem(401);
    let challenges = refused.headers.get_all("www-authenticate");
    assert!(
        challenges
            .iter()
            .any(|c| c.to_str().is_ok_and(|c| c.starts_with("Basic"))),
        "no Basic challenge"
    );
    assert_consistent_through(&refused.headers, "a 401");

    let anonymous = post(
        vec![
            ("X-Experience-API-Version", VERSION.into()),
            ("content", content.clone()),
        ],
        vec![],
    )
    .await;
    anonymous.expect_problem(401);

    let reader = Lrs::with_scopes(&app, "Acme Reports", "shared:read").await;
    post(
        vec![
            ("Authorization", basic(&reader)),
            ("X-Experience-API-Version", VERSION.into()),
            ("content", content.clone()),
        ],
        vec![],
    )
    .await
    .expect_problem(403);
    // The form's bearer token is the one verified, not the HTTP header's.
    let writer = vec![("Authorization", format!("Bearer {}", lrs.client.token))];
    for (token, status) in [(reader.client.token.as_str(), 403), ("not.a.token", 401)] {
        post(
            vec![
                ("Authorization", format!("Bearer {token}")),
                ("X-Experience-API-Version", VERSION.into()),
                ("content", content.clone()),
            ],
            writer.clone(),
        )
        .await
        .expect_problem(status);
    }
    assert!(lrs.query(&app, "").await.is_empty());

    let bearer = format!("Bearer {}", lrs.client.token);
    post(
        vec![
            ("authorization", bearer),
            ("x-experience-api-version", VERSION.into()),
            ("content", content.clone()),
        ],
        vec![],
    )
    .await
    .expect(200);
    assert_eq!(lrs.query(&app, "").await.len(), 1);
}

// Refusals (Communication 1.3.s3.b1-b5, 3.2.s3.b6-b7) -----------------------------------------

/// A malformed alternate request, and the field its refusal names.
struct Case {
    what: &'static str,
    query: String,
    method: Method,
    content_type: Option<&'static str>,
    body: Vec<u8>,
    field: &'static str,
}

/// 1.3.s3.b1-b5 and 3.2.s3.b6-b7: the alternate syntax is a POST (not a PUT with `method`); no
/// query parameter but `method` (the conformance suite's `?method=PUT&statementId=…`); a method
/// of GET, PUT, POST or DELETE; a form body, of UTF-8 text; `content` for a PUT or POST and none
/// for a GET; no attachments; no field the request does not take. Each is refused with 400 and
/// nothing is stored.
async fn malformed_alternate_requests_are_refused_and_change_nothing(app: TestApp) {
    let lrs = Lrs::new(&app, "Acme Learning").await;
    let auth = basic(&lrs);
    let id = Uuid::new_v4().to_string();
    let content = base().to_string();
    let form = |fields: &[(&str, &str)]| encoded(&with_headers(&auth, fields));
    let put = form(&[("statementId", &id), ("content", &content)]);
    let as_json: serde_json::Map<String, Value> = with_headers(&auth, &[("content", &content)])
        .into_iter()
        .map(|(n, v)| (n.to_owned(), json!(v)))
        .collect();
    let attached = set(
        base(),
        "/attachments",
        json!([declared_attachment(b"certificate", None)]),
    )
    .to_string();
    let mut binary = form(&[("statementId", &id)]);
    binary.extend_from_slice(b"&content=%FF%FE%00");
    let multipart = form(&[
        ("Content-Type", "multipart/mixed; boundary=x"),
        ("content", "--x--"),
    ]);
    let attachment = form(&[("content", &attached)]);
    let case = |what, query: &str, body: Vec<u8>, field| Case {
        what,
        query: query.to_owned(),
        method: Method::POST,
        content_type: Some("application/x-www-form-urlencoded"),
        body,
        field,
    };
    let another_parameter = format!("method=PUT&statementId={id}");
    let fields = |extra: (&'static str, &'static str)| {
        form(&[("statementId", &id), extra, ("content", &content)])
    };
    let cases = [
        case(
            "a query parameter",
            &another_parameter,
            put.clone(),
            "statementId",
        ),
        case("PATCH", "method=PATCH", put.clone(), "method"),
        case("HEAD", "method=HEAD", put.clone(), "method"),
        case("no method", "method=", put.clone(), "method"),
        case(
            "method twice",
            "method=PUT&method=PUT",
            put.clone(),
            "method",
        ),
        Case {
            method: Method::PUT,
            ..case("not a POST", "method=POST", put.clone(), "method")
        },
        Case {
            content_type: None,
            ..case("no body", "method=PUT", Vec::new(), "content")
        },
        case(
            "no content",
            "method=PUT",
            form(&[("statementId", &id)]),
            "content",
        ),
        case(
            "a GET with content",
            "method=GET",
            form(&[("content", &content)]),
            "content",
        ),
        case(
            "JSON as a form",
            "method=POST",
            Value::from(as_json).to_string().into(),
            "content",
        ),
        Case {
            content_type: Some("application/json"),
            ..case(
                "JSON",
                "method=POST",
                content.clone().into(),
                "Content-Type",
            )
        },
        case("binary content", "method=PUT", binary, "content"),
        case("multipart", "method=POST", multipart, "Content-Type"),
        case(
            "an attachment not sent",
            "method=POST",
            attachment,
            "attachments",
        ),
        case(
            "no parameter",
            "method=PUT",
            fields(("test", "test")),
            "test",
        ),
        case(
            "Content-Transfer-Encoding",
            "method=PUT",
            fields(("Content-Transfer-Encoding", "binary")),
            "Content-Transfer-Encoding",
        ),
    ];
    for Case {
        what,
        query,
        method,
        content_type,
        body,
        field,
    } in cases
    {
        let mut request = app
            .http
            .request(method, app.url(&format!("/xapi/statements?{query}")))
            .body(body);
        if let Some(content_type) = content_type {
            request = request.header("Content-Type", content_type);
        }
        let reply = Reply::from(request.send().await.unwrap()).await;
        assert_eq!(reply.status, 400, "{what}: {:#}", reply.body);
        reply.expect_field_error(400, field);
        assert_eq!(reply.header("x-experience-api-version"), Some("1.0.3"));
        assert_consistent_through(&reply.headers, what);
    }
    assert!(lrs.query(&app, "").await.is_empty());
    lrs.statement(&app, &id).await.expect(404);
}

on_both_backends!(
    the_form_s_header_fields_are_the_request_s_headers,
    malformed_alternate_requests_are_refused_and_change_nothing,
);

// Limits (Communication 3.2.s3.b11 and b13) --------------------------------------------------

/// 3.2.s3.b11: the form of an alternate request is held to the body limit of the direct
/// request (`max_batch_bytes`, here 64 KiB): larger, it is refused with 413 before it is read,
/// and nothing is stored.
async fn an_alternate_request_is_held_to_the_body_limit(backend: Backend) {
    let Some(app) = TestApp::start_with(backend, |s| s.max_batch_bytes = 64 * 1024).await else {
        return;
    };
    let lrs = Lrs::new(&app, "Acme Learning").await;
    let auth = basic(&lrs);
    let padded =
        |bytes: usize| set(base(), "/result", json!({"response": "x".repeat(bytes)})).to_string();
    let small = padded(1024);
    alternate(
        &app,
        "/statements",
        "POST",
        &with_headers(&auth, &[("content", &small)]),
        &[],
    )
    .await
    .expect(200);
    let large = padded(64 * 1024);
    let refused = alternate(
        &app,
        "/statements",
        "POST",
        &with_headers(&auth, &[("content", &large)]),
        &[],
    )
    .await;
    refused.expect_problem(413);
    assert_consistent_through(&refused.headers, "a 413");
    assert_eq!(lrs.query(&app, "").await.len(), 1);
}

/// 3.2.s3.b13: alternate requests are counted against the caller their form names, as direct
/// requests are against the caller of their headers: a flood sent with one client's credentials
/// from many addresses (behind a trusted proxy) is answered 429 once that client's bucket is
/// spent, with the LRS's headers, and the client's direct requests are then refused too; another
/// client is not affected.
async fn a_flood_of_alternate_requests_is_limited_by_the_caller_in_its_form(backend: Backend) {
    let Some(app) = TestApp::start_with(backend, |s| {
        // Bursts of 20, then one a minute: nothing refills while the test runs.
        s.rate_limit_per_minute = 1;
        s.protection.trusted_proxies = vec!["127.0.0.1/32".into(), "::1".into()];
    })
    .await
    else {
        return;
    };
    let lrs = Lrs::new(&app, "Acme Learning").await;
    let other = Lrs::new(&app, "Bolt Learning").await;
    let auth = basic(&lrs);
    let form = with_headers(&auth, &[("limit", "1")]);
    // Its secret has verified (the harness fetched its token), and is remembered: each request
    // is counted against the client, this one too.
    let from = |n: usize| format!("198.51.100.{n}");
    alternate(
        &app,
        "/statements",
        "GET",
        &form,
        &[("X-Forwarded-For", &from(200))],
    )
    .await
    .expect(200);
    let replies = join_all((0..30).map(|n| {
        let (app, form, address) = (&app, &form, from(n));
        async move {
            alternate(
                app,
                "/statements",
                "GET",
                form,
                &[("X-Forwarded-For", &address)],
            )
            .await
        }
    }))
    .await;
    let count = |status: u16| replies.iter().filter(|r| r.status == status).count();
    // 20 in all, with the request above: the client's burst.
    assert_eq!((count(200), count(429)), (19, 11), "{replies:#?}");
    let limited = replies.iter().find(|r| r.status == 429).unwrap();
    limited.expect_problem(429);
    assert!(limited.header("retry-after").is_some());
    assert_eq!(limited.header("x-experience-api-version"), Some("1.0.3"));
    assert_consistent_through(&limited.headers, "a 429");

    let direct = |client: &Lrs, address: &str| {
        let request = app
            .http
            .get(app.url("/xapi/statements"))
            .bearer_auth(&client.client.token)
            .header("X-Experience-API-Version", VERSION)
            .header("X-Forwarded-For", address.to_owned());
        async move { Reply::from(request.send().await.unwrap()).await }
    };
    direct(&lrs, "203.0.113.1").await.expect_problem(429);
    direct(&other, "203.0.113.2").await.expect(200);
}

on_each_backend!(
    an_alternate_request_is_held_to_the_body_limit,
    a_flood_of_alternate_requests_is_limited_by_the_caller_in_its_form,
);
