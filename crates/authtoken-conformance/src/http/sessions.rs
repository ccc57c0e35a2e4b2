//! The session routes, black-box: `GET /sessions`, `DELETE /sessions/{id}`,
//! `POST /logout-others`.

use reqwest::StatusCode;
use reqwest::header::{AUTHORIZATION, CACHE_CONTROL, COOKIE};
use serde_json::Value;

use super::{ACCOUNTS, Server, bearer, post_with, session_cookie};

impl Server {
    /// `DELETE path` with a bearer token.
    async fn delete(&self, path: &str, token: &str) -> reqwest::Response {
        let request = self.http.delete(format!("{}{path}", self.base));
        let request = request.header(AUTHORIZATION, format!("Bearer {token}"));
        request.send().await.expect("the server answers")
    }

    /// The JSON listing `GET /auth/bearer/sessions` answers `token`.
    async fn sessions_of(&self, token: &str) -> Vec<Value> {
        let (status, body) = self.get("/auth/bearer/sessions", bearer(token)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let listed: Value = serde_json::from_str(&body).expect("JSON");
        listed.as_array().expect("an array").clone()
    }
}

/// A user sees their sessions (never a token), the asking one marked current, and ends another
/// from it: that token is refused at once. An unknown id, another user's, a malformed or an
/// oversized one: 404 alike.
pub async fn sessions_are_listed_and_one_is_ended_from_another(s: &Server) {
    let laptop = s.bearer_token("ada").await;
    let phone = s.bearer_token("ada").await;
    let roots = s.bearer_token("root").await;
    let response = s
        .http
        .get(format!("{}/auth/bearer/sessions", s.base))
        .header(AUTHORIZATION, format!("Bearer {laptop}"))
        .send()
        .await
        .expect("the server answers");
    assert_eq!(response.headers()[CACHE_CONTROL], "no-store");
    let body = response.text().await.unwrap();
    assert!(!body.contains(&laptop) && !body.contains(&phone), "a token in the listing");
    let listed = s.sessions_of(&laptop).await;
    assert_eq!(listed.len(), 2, "{listed:?}");
    let current: Vec<_> = listed.iter().filter(|s| s["current"] == true).collect();
    assert_eq!(current.len(), 1);
    let other = listed.iter().find(|s| s["current"] == false).expect("the phone");
    let id = other["id"].as_str().expect("an id").to_owned();
    assert_eq!(id.len(), 22);
    for field in ["created_at", "last_seen_at", "expires_at"] {
        assert!(other[field].is_string(), "{field}: {other}");
    }

    assert_eq!(s.delete(&format!("/auth/bearer/sessions/{id}"), &roots).await.status(), 404);
    assert_eq!(s.get("/me", bearer(&phone)).await.0, StatusCode::OK, "root ended ada's session");
    let ended = s.delete(&format!("/auth/bearer/sessions/{id}"), &laptop).await;
    assert_eq!(ended.status(), StatusCode::NO_CONTENT);
    assert_eq!(s.get("/me", bearer(&phone)).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(s.get("/me", bearer(&laptop)).await.0, StatusCode::OK);
    assert_eq!(s.delete(&format!("/auth/bearer/sessions/{id}"), &laptop).await.status(), 404);
    let long = "A".repeat(4096);
    for bad in ["x", "AAAAAAAAAAAAAAAAAAAAA%2F", long.as_str()] {
        let response = s.delete(&format!("/auth/bearer/sessions/{bad}"), &laptop).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{bad}");
    }
    assert_eq!(s.sessions_of(&laptop).await.len(), 1);
    assert_eq!(s.sessions_of(&roots).await.len(), 1);
}

/// `POST /logout-others` ends every other session of the user and keeps the asking one.
pub async fn logout_others_keeps_the_current_session(s: &Server) {
    let tokens =
        [s.bearer_token("ada").await, s.bearer_token("ada").await, s.bearer_token("ada").await];
    let roots = s.bearer_token("root").await;
    let response = s.post("/auth/bearer/logout-others", bearer(&tokens[1])).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(s.get("/me", bearer(&tokens[0])).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(s.get("/me", bearer(&tokens[2])).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(s.get("/me", bearer(&tokens[1])).await.0, StatusCode::OK);
    assert_eq!(s.get("/me", bearer(&roots)).await.0, StatusCode::OK);
    let listed = s.sessions_of(&tokens[1]).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["current"], true);
}

/// The session routes refuse an anonymous request (401), a cross-site one on the cookie backend
/// and a scoped API token (403), and end nothing then.
pub async fn session_routes_refuse_anonymous_cross_site_and_scoped(s: &Server) {
    assert_eq!(s.get("/auth/bearer/sessions", None).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(s.post("/auth/bearer/logout-others", None).await.status(), 401);

    let ada = &ACCOUNTS[0];
    let options = authtoken::IssueOptions::new().name("ci").scopes(["read"]);
    let scoped = s.bearer_strategy.issue_token(ada, &options).await.expect("issuing");
    let scoped = scoped.into_secret();
    let session = s.bearer_token("ada").await;
    assert_eq!(s.get("/auth/bearer/sessions", bearer(&scoped)).await.0, StatusCode::FORBIDDEN);
    let others = s.post("/auth/bearer/logout-others", bearer(&scoped)).await;
    assert_eq!(others.status(), StatusCode::FORBIDDEN);
    assert_eq!(s.get("/me", bearer(&session)).await.0, StatusCode::OK);

    let value = session_cookie(&post_with(s, "/auth/cookie/login", &[], true).await);
    let jar = format!("session={value}");
    let evil = [("cookie", jar.as_str()), ("sec-fetch-site", "cross-site")];
    let response = post_with(s, "/auth/cookie/logout-others", &evil, false).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let cross = s
        .http
        .delete(format!("{}/auth/cookie/sessions/AAAAAAAAAAAAAAAAAAAAAA", s.base))
        .header(COOKIE, jar.as_str())
        .header("sec-fetch-site", "cross-site")
        .send()
        .await
        .expect("the server answers");
    assert_eq!(cross.status(), StatusCode::FORBIDDEN);
    let (status, body) = s.get("/auth/cookie/sessions", super::cookie(&value)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

/// A session shows the client's user agent (cut to 255 characters) and address. A forged
/// `X-Forwarded-For` is ignored where no proxy is trusted; behind the trusted proxy the address
/// it appended is taken (at the precision the routes keep, a /24 here), never what the client
/// wrote before it.
pub async fn sessions_show_the_client_and_ignore_a_forged_forwarded_for(s: &Server) {
    let login = |agent: String, forwarded: &'static str| {
        s.http
            .post(format!("{}/auth/bearer/login", s.base))
            .header("user-agent", agent)
            .header("x-forwarded-for", forwarded)
            .form(&[("username", "ada"), ("password", "pw-ada")])
            .send()
    };
    let response = login(format!("spec-agent/1.0 {}", "x".repeat(8000)), "203.0.113.9")
        .await
        .expect("the server answers");
    let body: Value = response.json().await.expect("JSON");
    let token = body["access_token"].as_str().expect("a token").to_owned();
    let listed = s.sessions_of(&token).await;
    let agent = listed[0]["user_agent"].as_str().expect("a user agent");
    assert!(agent.starts_with("spec-agent/1.0 xxx"), "{agent:.40}");
    assert_eq!(agent.chars().count(), 255);
    assert_eq!(listed[0]["address"], "127.0.0.1", "a forged X-Forwarded-For was believed");

    let headers = [
        ("user-agent", "spec-browser"),
        // What the client wrote, then what the trusted proxy appended.
        ("x-forwarded-for", "203.0.113.9, 198.51.100.77"),
    ];
    let value = session_cookie(&post_with(s, "/auth/cookie/login", &headers, true).await);
    let (status, body) = s.get("/auth/cookie/sessions", super::cookie(&value)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let listed: Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(listed[0]["user_agent"], "spec-browser");
    assert_eq!(listed[0]["address"], "198.51.100.0");
}

/// An API token may use the session routes only with the scope the application named for
/// them (`sessions` on the spec's bearer backend); another scope is refused.
pub async fn a_token_of_the_sessions_scope_may_use_the_session_routes(s: &Server) {
    let ada = &ACCOUNTS[0];
    let mut tokens = Vec::new();
    for scope in ["sessions", "read"] {
        let options = authtoken::IssueOptions::new().name(scope).scopes([scope]);
        let token = s.bearer_strategy.issue_token(ada, &options).await.expect("issuing");
        tokens.push(token.into_secret());
    }
    let (manager, reader) = (&tokens[0], &tokens[1]);
    let browser = s.bearer_token("ada").await;
    assert_eq!(s.get("/auth/bearer/sessions", bearer(reader)).await.0, StatusCode::FORBIDDEN);
    let listed = s.sessions_of(manager).await;
    assert_eq!(listed.len(), 3, "{listed:?}");
    let others = s.post("/auth/bearer/logout-others", bearer(manager)).await;
    assert_eq!(others.status(), StatusCode::NO_CONTENT);
    assert_eq!(s.get("/me", bearer(&browser)).await.0, StatusCode::UNAUTHORIZED);
}
