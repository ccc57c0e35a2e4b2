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
        let doc = auth.backend(index).transport().describe().unwrap_or_else(generic);
        schemes.insert((*name).to_owned(), doc.security_scheme.clone());
        let prefix = prefix.trim_end_matches('/');
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
