//! An OpenAPI 3 description of the login routes, built from the configured backends, so the
//! document says what the server really does (which transports, which answers).
//!
//! Written as data (`serde_json`) rather than derived: the routes' shapes depend on the
//! transports configured at run time, and the document is small.

use serde_json::{Value, json};

pub use crate::transport::TransportDoc;
use crate::{AuthUser, Authenticator};

/// The OpenAPI 3.0 document of the login routes: `mounts` pairs each backend's name with the
/// prefix its routes are mounted under (`[("bearer", "/auth/bearer")]`).
///
/// ```
/// # use authtoken_http::*;
/// # #[derive(Clone)] struct Account { id: u64 }
/// # impl authtoken::User for Account { type Id = u64; fn id(&self) -> &u64 { &self.id } }
/// # impl AuthUser for Account { fn is_active(&self) -> bool { true } }
/// # fn doc(auth: &Authenticator<Account>) {
/// let document = openapi::document(auth, &[("bearer", "/auth/bearer")], "My API", "1.0.0");
/// assert_eq!(document["openapi"], "3.0.3");
/// assert!(document["paths"]["/auth/bearer/login"]["post"].is_object());
/// # }
/// ```
pub fn document<U: AuthUser>(
    auth: &Authenticator<U>,
    mounts: &[(&str, &str)],
    title: &str,
    version: &str,
) -> Value {
    let mut paths = serde_json::Map::new();
    let mut schemes = serde_json::Map::new();
    for (name, prefix) in mounts {
        let Ok(index) = auth.index_of(name) else { continue };
        let backend = auth.backend(index);
        let mut doc = backend.transport().describe().unwrap_or_else(generic);
        schemes.insert((*name).to_owned(), doc.security_scheme.clone());
        let prefix = prefix.trim_end_matches('/');
        if backend.refresh().is_some() {
            if doc.login_body.is_some() {
                doc.login_body = Some(json!({ "$ref": "#/components/schemas/TokenPairResponse" }));
            }
            let in_cookie = backend.transport().refresh_cookie().is_some();
            paths.insert(format!("{prefix}/refresh"), json!({ "post": refresh(name, in_cookie) }));
        }
        paths.insert(format!("{prefix}/login"), json!({ "post": login(name, &doc) }));
        for (path, summary) in [
            ("logout", "Revoke the presented token"),
            ("logout-all", "Revoke every token of the user (log out everywhere)"),
        ] {
            let operation = logout(name, path, summary, &doc);
            paths.insert(format!("{prefix}/{path}"), json!({ "post": operation }));
        }
        if auth.backend(index).sessions().is_some() {
            sessions(&mut paths, name, prefix, &doc);
        }
    }
    json!({
        "openapi": "3.0.3",
        "info": { "title": title, "version": version },
        "paths": paths,
        "components": {
            "schemas": {
                "LoginForm": {
                    "type": "object",
                    "required": ["username", "password"],
                    "properties": {
                        "username": { "type": "string" },
                        "password": { "type": "string", "format": "password" }
                    }
                },
                "TokenResponse": {
                    "type": "object",
                    "required": ["access_token", "token_type"],
                    "properties": {
                        "access_token": {
                            "type": "string",
                            "minLength": 43,
                            "maxLength": 65,
                            "description": "43 base64url characters; with a prefixed format, the prefix (up to 16 characters) before them and a 6-character checksum after"
                        },
                        "token_type": { "type": "string" }
                    }
                },
                "TokenPairResponse": {
                    "type": "object",
                    "required": ["access_token", "token_type", "expires_in", "refresh_token"],
                    "properties": {
                        "access_token": { "type": "string", "minLength": 43, "maxLength": 65 },
                        "token_type": { "type": "string" },
                        "expires_in": { "type": "integer", "minimum": 0, "description": "Seconds the access token lives" },
                        "refresh_token": { "type": "string", "minLength": 43, "maxLength": 43 }
                    }
                },
                "RefreshForm": {
                    "type": "object",
                    "required": ["refresh_token"],
                    "properties": {
                        "grant_type": { "type": "string", "enum": ["refresh_token"] },
                        "refresh_token": { "type": "string" }
                    }
                },
                "Session": {
                    "type": "object",
                    "required": ["id", "created_at", "last_seen_at", "expires_at", "current", "name", "scopes", "user_agent", "address"],
                    "properties": {
                        "id": { "type": "string", "minLength": 22, "maxLength": 22 },
                        "created_at": { "type": "string", "format": "date-time" },
                        "last_seen_at": { "type": "string", "format": "date-time" },
                        "expires_at": { "type": "string", "format": "date-time", "nullable": true },
                        "current": { "type": "boolean" },
                        "name": { "type": "string", "nullable": true },
                        "scopes": { "type": "array", "items": { "type": "string" } },
                        "user_agent": { "type": "string", "nullable": true, "maxLength": 255 },
                        "address": { "type": "string", "nullable": true, "maxLength": 45 }
                    }
                },
                "Detail": {
                    "type": "object",
                    "required": ["detail"],
                    "properties": { "detail": { "type": "string" } }
                }
            },
            "securitySchemes": schemes
        }
    })
}

/// What a transport that does not describe itself is documented as.
fn generic() -> TransportDoc {
    TransportDoc {
        security_scheme: json!({ "type": "http", "scheme": "bearer" }),
        login_status: 200,
        login_body: None,
        cross_site_check: false,
    }
}

fn detail(description: &str) -> Value {
    json!({
        "description": description,
        "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Detail" } } }
    })
}

fn login(name: &str, doc: &TransportDoc) -> Value {
    let mut success = json!({ "description": "Logged in" });
    if let Some(body) = &doc.login_body {
        success["content"] = json!({ "application/json": { "schema": body } });
    }
    let mut responses = json!({
        doc.login_status.to_string(): success,
        "400": detail("LOGIN_BAD_CREDENTIALS: a wrong password, an unknown or an inactive user"),
        "413": detail("The form is over 16 KiB"),
        "422": detail("A field is missing"),
        "429": {
            "description": "Too many failed attempts; try again after Retry-After seconds",
            "headers": { "Retry-After": { "schema": { "type": "integer" } } },
            "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Detail" } } }
        },
        "500": detail("The credential check or the token store failed"),
        "403": detail("LOGIN_TOKEN_LIMIT_REACHED: the user holds the most tokens the per-user limit allows")
    });
    if doc.cross_site_check {
        responses["403"] = detail(
            "A cross-site request, or LOGIN_TOKEN_LIMIT_REACHED: the user holds the most tokens \
             the per-user limit allows",
        );
    }
    json!({
        "summary": format!("Log in ({name})"),
        "operationId": format!("{name}_login"),
        "requestBody": {
            "required": true,
            "content": {
                "application/x-www-form-urlencoded": {
                    "schema": { "$ref": "#/components/schemas/LoginForm" }
                }
            }
        },
        "responses": responses
    })
}

/// `POST /refresh` of a backend that issues refresh tokens: from the form, or from the refresh
/// cookie (`in_cookie`).
fn refresh(name: &str, in_cookie: bool) -> Value {
    let mut responses = json!({
        "401": detail("REFRESH_TOKEN_INVALID: missing, unknown, expired or spent (a spent one presented again ends its login), or the user is no longer active"),
        "413": detail("The form is over 16 KiB"),
        "500": detail("A token store failed")
    });
    let mut operation = json!({
        "summary": format!("Spend a refresh token for a new pair ({name})"),
        "operationId": format!("{name}_refresh"),
    });
    if in_cookie {
        responses["204"] = json!({ "description": "Both cookies set again" });
        responses["403"] = detail("CROSS_SITE_REQUEST_REFUSED: a cross-site request");
        operation["description"] = json!(
            "The refresh token travels in its own HttpOnly, SameSite=Strict cookie, scoped to this path."
        );
    } else {
        responses["200"] = json!({
            "description": "The new pair",
            "content": { "application/json": { "schema": { "$ref": "#/components/schemas/TokenPairResponse" } } }
        });
        responses["400"] = detail("UNSUPPORTED_GRANT_TYPE: a grant_type other than refresh_token");
        operation["requestBody"] = json!({
            "required": true,
            "content": { "application/x-www-form-urlencoded": {
                "schema": { "$ref": "#/components/schemas/RefreshForm" }
            } }
        });
    }
    operation["responses"] = responses;
    operation
}

fn logout(name: &str, path: &str, summary: &str, doc: &TransportDoc) -> Value {
    let mut responses = json!({
        "204": { "description": "Done" },
        "401": detail("No valid token"),
        "403": detail("SCOPED_TOKEN_NOT_ALLOWED: an API token with scopes, which these routes do not take"),
        "500": detail("The token store failed")
    });
    if doc.cross_site_check {
        responses["403"] = detail(
            "CROSS_SITE_REQUEST_REFUSED: a cross-site request; or SCOPED_TOKEN_NOT_ALLOWED: an \
             API token with scopes, which these routes do not take",
        );
    }
    json!({
        "summary": format!("{summary} ({name})"),
        "operationId": format!("{name}_{}", path.replace('-', "_")),
        "security": [{ name: [] }],
        "responses": responses
    })
}

/// The session routes of a backend that serves them.
fn sessions(
    paths: &mut serde_json::Map<String, Value>,
    name: &str,
    prefix: &str,
    doc: &TransportDoc,
) {
    let others = logout(name, "logout-others", "End every other session of the user", doc);
    paths.insert(format!("{prefix}/logout-others"), json!({ "post": others }));
    let mut list = logout(name, "sessions", "The user's live sessions", doc);
    list["operationId"] = json!(format!("{name}_list_sessions"));
    list["responses"]["200"] = json!({
        "description": "The sessions, most recently active first",
        "content": { "application/json": { "schema": {
            "type": "array", "items": { "$ref": "#/components/schemas/Session" }
        } } }
    });
    if let Some(responses) = list["responses"].as_object_mut() {
        responses.remove("204");
    }
    paths.insert(format!("{prefix}/sessions"), json!({ "get": list }));
    let mut end = logout(name, "end-session", "End one of the user's sessions", doc);
    end["parameters"] = json!([{
        "name": "id", "in": "path", "required": true, "schema": { "type": "string" }
    }]);
    end["responses"]["404"] = detail("SESSION_NOT_FOUND: no session of the user has this id");
    paths.insert(format!("{prefix}/sessions/{{id}}"), json!({ "delete": end }));
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use authtoken::DatabaseStrategy;
    use authtoken::memory::{MemoryStore, MemoryUsers};
    use authtoken::refresh::{MemoryRefreshStore, RefreshPolicy, RefreshStrategy};

    use crate::{AuthBackend, AuthUser, Authenticator, Bearer, Cookie, Transport};

    #[derive(Clone)]
    struct Account(u64);
    impl authtoken::User for Account {
        type Id = u64;
        fn id(&self) -> &u64 {
            &self.0
        }
    }
    impl AuthUser for Account {
        fn is_active(&self) -> bool {
            true
        }
    }

    fn backend(name: &str, transport: Arc<dyn Transport>, refresh: bool) -> AuthBackend<Account> {
        let access =
            || DatabaseStrategy::new(MemoryStore::new(), Some(Duration::from_secs(900))).unwrap();
        let reads = Arc::new(access().with_users(MemoryUsers::new()));
        let backend = AuthBackend::from_parts(name, transport, reads);
        if !refresh {
            return backend;
        }
        let store = MemoryRefreshStore::new();
        backend
            .with_refresh(RefreshStrategy::new(access(), store, RefreshPolicy::default()).unwrap())
    }

    #[test]
    fn refresh_routes_are_documented_where_a_backend_issues_refresh_tokens() {
        let cookie = Cookie { refresh_path: Some("/c/refresh".into()), ..Cookie::default() };
        let auth = Authenticator::new(vec![
            backend("plain", Arc::new(Bearer), false),
            backend("bearer", Arc::new(Bearer), true),
            backend("cookie", Arc::new(cookie), true),
        ])
        .unwrap();
        let mounts = [("plain", "/p"), ("bearer", "/b"), ("cookie", "/c")];
        let doc = super::document(&auth, &mounts, "t", "1");
        let paths = &doc["paths"];
        assert!(paths["/p/refresh"].is_null(), "a backend without refresh tokens has no route");
        let login_body = |path: &str| {
            paths[path]["post"]["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
                .clone()
        };
        assert_eq!(login_body("/p/login"), "#/components/schemas/TokenResponse");
        assert_eq!(login_body("/b/login"), "#/components/schemas/TokenPairResponse");
        assert_eq!(login_body("/b/refresh"), "#/components/schemas/TokenPairResponse");
        let form = &paths["/b/refresh"]["post"]["requestBody"]["content"];
        assert!(form["application/x-www-form-urlencoded"].is_object());
        let cookie = &paths["/c/refresh"]["post"];
        assert!(cookie["requestBody"].is_null(), "the cookie carries the token");
        assert!(cookie["responses"]["204"].is_object() && cookie["responses"]["403"].is_object());
        let pair = &doc["components"]["schemas"]["TokenPairResponse"]["required"];
        assert_eq!(pair.as_array().unwrap().len(), 4);
    }
}
