//! The tenant's side of the catalog: trusted publishers, the audit of
//! every change, and who may run plugins from outside the catalog.

use super::*;

/// Trust a publisher's key for the tenant.
#[utoipa::path(post, path = "/v1/catalog/publishers", request_body = TrustRequest, security(("device_token" = [])),
    responses((status = 200, body = Publisher), (status = 400, body = crm_protocol::wire::ApiError),
              (status = 403, body = crm_protocol::wire::ApiError)))]
pub async fn trust(
    State(st): State<AppState>,
    bearer: Bearer,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Json<Publisher>> {
    let req: TrustRequest = crate::parse_body(body)?;
    let (mut tx, dev) = auth::begin(&st.pool, &bearer, false).await?;
    crate::admin_api::admin_only(&dev, "trust a publisher")?;
    let key = package::parse_public_key(&req.public_key)
        .map_err(|e| ServerError::bad_request("bad_key", format!("public_key: {e}")))?;
    let name = req.name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(ServerError::bad_request(
            "bad_name",
            "name: give the publisher a name of 1 to 200 characters",
        ));
    }
    bump(&mut tx, dev.tenant_id).await?;
    let hex_key = hex::encode(key.as_bytes());
    sql::query(
        "INSERT INTO catalog_publishers (tenant_id, public_key, name, added_by) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (tenant_id, public_key) DO UPDATE SET name = excluded.name",
    )
    .bind(dev.tenant_id)
    .bind(&hex_key)
    .bind(name)
    .bind(dev.user_id)
    .execute(&mut *tx)
    .await?;
    audit(
        &mut tx,
        &dev,
        None,
        "publisher_trusted",
        serde_json::json!({ "public_key": hex_key, "name": name }),
    )
    .await?;
    tx.commit().await?;
    Ok(Json(Publisher {
        public_key: hex_key,
        name: name.to_string(),
    }))
}

/// Stop trusting a publisher's key for the tenant: devices drop it at
/// their next sync, and the plugins it signed stop verifying there.
#[utoipa::path(delete, path = "/v1/catalog/publishers/{key}",
    params(("key" = String, Path, description = "public key, hex")), security(("device_token" = [])),
    responses((status = 204, description = "withdrawn"), (status = 403, body = crm_protocol::wire::ApiError),
              (status = 404, body = crm_protocol::wire::ApiError)))]
pub async fn distrust(
    State(st): State<AppState>,
    bearer: Bearer,
    Path(key): Path<String>,
) -> ApiResult<StatusCode> {
    let (mut tx, dev) = auth::begin(&st.pool, &bearer, false).await?;
    crate::admin_api::admin_only(&dev, "withdraw trust in a publisher")?;
    bump(&mut tx, dev.tenant_id).await?;
    let gone =
        sql::query("DELETE FROM catalog_publishers WHERE tenant_id = $1 AND public_key = $2")
            .bind(dev.tenant_id)
            .bind(key.trim())
            .execute(&mut *tx)
            .await?;
    if gone.rows_affected() == 0 {
        return Err(ServerError::client(
            StatusCode::NOT_FOUND,
            "no_publisher",
            "the tenant does not trust that key",
        ));
    }
    audit(
        &mut tx,
        &dev,
        None,
        "publisher_removed",
        serde_json::json!({ "public_key": key.trim() }),
    )
    .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// at, actor's email, plugin, action, detail.
type AuditRow = (
    String,
    Option<String>,
    Option<String>,
    String,
    sql::Json<serde_json::Value>,
);

/// The catalog's changes, newest first (admins).
#[utoipa::path(get, path = "/v1/catalog/audit", security(("device_token" = [])),
    responses((status = 200, body = Vec<CatalogAuditEntry>), (status = 403, body = crm_protocol::wire::ApiError)))]
pub async fn audit_log(
    State(st): State<AppState>,
    bearer: Bearer,
) -> ApiResult<Json<Vec<CatalogAuditEntry>>> {
    let (mut tx, dev) = auth::begin(&st.pool, &bearer, false).await?;
    crate::admin_api::admin_only(&dev, "read the catalog's audit")?;
    let rows: Vec<AuditRow> = sql::query_as(
            "SELECT to_char(a.at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), u.email, a.plugin_id, \
             a.action, a.detail FROM catalog_audit a \
             LEFT JOIN users u ON u.tenant_id = a.tenant_id AND u.id = a.actor \
             WHERE a.tenant_id = $1 ORDER BY a.seq DESC LIMIT 500",
        )
        .bind(dev.tenant_id)
        .fetch_all(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(Json(
        rows.into_iter()
            .map(|(at, actor, plugin_id, action, detail)| CatalogAuditEntry {
                at,
                actor: actor.unwrap_or_else(|| "a removed user".into()),
                plugin_id,
                action,
                detail: detail.0,
            })
            .collect(),
    ))
}

/// Say who may run plugins from outside the catalog (an admin's; audited).
#[utoipa::path(put, path = "/v1/catalog/local-plugins", request_body = LocalPluginsRequest,
    security(("device_token" = [])),
    responses((status = 200, body = LocalPluginsRequest), (status = 400, body = crm_protocol::wire::ApiError),
              (status = 403, body = crm_protocol::wire::ApiError)))]
pub async fn set_local_plugins(
    State(st): State<AppState>,
    bearer: Bearer,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Json<LocalPluginsRequest>> {
    let req: LocalPluginsRequest = crate::parse_body(body)?;
    if !LOCAL_PLUGINS.contains(&req.who.as_str()) {
        return Err(ServerError::bad_request(
            "bad_local_plugins",
            format!(
                "who: {:?} is not one of {}",
                req.who.chars().take(40).collect::<String>(),
                LOCAL_PLUGINS.join(", ")
            ),
        ));
    }
    let (mut tx, dev) = auth::begin(&st.pool, &bearer, false).await?;
    crate::admin_api::admin_only(&dev, "change the plugin catalog")?;
    bump(&mut tx, dev.tenant_id).await?;
    sql::query("UPDATE catalog_revisions SET local_plugins = $2 WHERE tenant_id = $1")
        .bind(dev.tenant_id)
        .bind(&req.who)
        .execute(&mut *tx)
        .await?;
    audit(
        &mut tx,
        &dev,
        None,
        "local_plugins",
        serde_json::json!({ "who": req.who }),
    )
    .await?;
    tx.commit().await?;
    Ok(Json(req))
}
