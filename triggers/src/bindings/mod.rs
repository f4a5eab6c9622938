//! Edits of a trigger's ordered flow: replace the whole list, insert or remove one binding, restore a
//! revision (checked as a replacement of the whole list). Each loads what the rules need, applies
//! [`rules`], and stores a new revision; single edits are read-modify-write on the revision number,
//! retried when another edit won the race.

pub mod rules;

use actionflow_store::{Action, ActionVersion, Binding, Bindings, Store};

use crate::catalog;
use crate::Error;
use rules::{ActionRef, BindingRequest, RefKind};

/// Times a single-binding edit is retried after losing a race with another edit.
const EDIT_RETRIES_MAX: usize = 8;

/// The tenant's flow of one trigger, checked against the catalog.
pub async fn get(store: &dyn Store, tenant_id: &str, trigger_id: &str) -> Result<Bindings, Error> {
    catalog::find(trigger_id)?;
    Ok(store.get_bindings(tenant_id, trigger_id).await?)
}

/// Finds the action a reference names; `field` is where the reference sits in the request.
pub async fn lookup(
    store: &dyn Store,
    tenant_id: &str,
    field: &str,
    reference: &ActionRef,
) -> Result<Action, Error> {
    let found = match reference.kind {
        RefKind::ActionId => store.get_action(tenant_id, &reference.value).await,
        RefKind::ActionName => store.get_action_by_name(tenant_id, &reference.value).await,
    };
    match found {
        Ok(action) => Ok(action),
        Err(actionflow_store::Error::NotFound { .. }) => Err(Error::UnknownAction {
            field: format!("{field}.value"),
            kind: match reference.kind {
                RefKind::ActionId => "id",
                RefKind::ActionName => "name",
            },
            value: reference.value.clone(),
        }),
        Err(other) => Err(other.into()),
    }
}

async fn deployed(store: &dyn Store, action: &Action) -> Result<Option<ActionVersion>, Error> {
    match action.deployed_version {
        Some(number) => Ok(Some(
            store
                .get_version(&action.tenant_id, &action.id, number)
                .await?,
        )),
        None => Ok(None),
    }
}

/// Resolves one requested binding and checks the action may be bound to the trigger.
async fn resolve(
    store: &dyn Store,
    tenant_id: &str,
    trigger_id: &str,
    field: &str,
    request: &BindingRequest,
) -> Result<(Action, Binding), Error> {
    let action = lookup(store, tenant_id, &format!("{field}.ref"), &request.action).await?;
    let version = deployed(store, &action).await?;
    rules::check_bindable(field, &action, version.as_ref(), trigger_id)?;
    let binding = rules::binding_of(field, request, &action)?;
    Ok((action, binding))
}

/// Replaces the whole ordered flow (`PATCH …/bindings`), kept as a new revision.
pub async fn set(
    store: &dyn Store,
    tenant_id: &str,
    trigger_id: &str,
    requests: &[BindingRequest],
    bindings_max: usize,
) -> Result<Bindings, Error> {
    catalog::find(trigger_id)?;
    let bindings = checked(store, tenant_id, trigger_id, requests, bindings_max).await?;
    Ok(store
        .replace_bindings(tenant_id, trigger_id, &bindings, None)
        .await?)
}

/// The bindings `requests` make, after every rule of a whole flow: the count, each action bindable,
/// display names, no action twice. Errors name `bindings[i]…`.
async fn checked(
    store: &dyn Store,
    tenant_id: &str,
    trigger_id: &str,
    requests: &[BindingRequest],
    bindings_max: usize,
) -> Result<Vec<Binding>, Error> {
    rules::check_count(requests.len(), bindings_max)?;
    let mut bindings = Vec::with_capacity(requests.len());
    let mut names = Vec::with_capacity(requests.len());
    for (index, request) in requests.iter().enumerate() {
        let field = format!("bindings[{index}]");
        let (action, binding) = resolve(store, tenant_id, trigger_id, &field, request).await?;
        names.push(action.name);
        bindings.push(binding);
    }
    rules::check_unique("bindings", &bindings, &names)?;
    Ok(bindings)
}

/// Inserts one binding at `position` (`None`: last) without touching the others.
pub async fn insert(
    store: &dyn Store,
    tenant_id: &str,
    trigger_id: &str,
    request: &BindingRequest,
    position: Option<usize>,
    bindings_max: usize,
) -> Result<Bindings, Error> {
    catalog::find(trigger_id)?;
    let (action, binding) = resolve(store, tenant_id, trigger_id, "binding", request).await?;
    let mut attempt = 0;
    loop {
        let current = store.get_bindings(tenant_id, trigger_id).await?;
        let flow = rules::insert_at(&current.bindings, binding.clone(), position, &action.name)?;
        rules::check_count(flow.len(), bindings_max)?;
        match store
            .replace_bindings(tenant_id, trigger_id, &flow, Some(current.revision))
            .await
        {
            Err(actionflow_store::Error::Conflict { .. }) if attempt < EDIT_RETRIES_MAX => {
                attempt += 1;
            }
            other => return Ok(other?),
        }
    }
}

/// Removes the binding of one action without touching the others.
pub async fn remove(
    store: &dyn Store,
    tenant_id: &str,
    trigger_id: &str,
    reference: &ActionRef,
) -> Result<Bindings, Error> {
    catalog::find(trigger_id)?;
    // A bound action cannot be deleted (without `force`, which unbinds it), so it can be looked up.
    let action = lookup(store, tenant_id, "ref", reference).await?;
    let mut attempt = 0;
    loop {
        let current = store.get_bindings(tenant_id, trigger_id).await?;
        let flow = rules::remove(&current.bindings, &action.id, &action.name, trigger_id)?;
        match store
            .replace_bindings(tenant_id, trigger_id, &flow, Some(current.revision))
            .await
        {
            Err(actionflow_store::Error::Conflict { .. }) if attempt < EDIT_RETRIES_MAX => {
                attempt += 1;
            }
            other => return Ok(other?),
        }
    }
}

/// Makes revision `number` the current flow again (as a new revision), under the same rules as
/// [`set`]: an old revision whose actions were since deleted, undeployed from the trigger, or that
/// holds more bindings than the limit now allows is refused with `RevisionNotRestorable`.
pub async fn restore(
    store: &dyn Store,
    tenant_id: &str,
    trigger_id: &str,
    number: i64,
    bindings_max: usize,
) -> Result<Bindings, Error> {
    catalog::find(trigger_id)?;
    let revision = store
        .get_binding_revision(tenant_id, trigger_id, number)
        .await?;
    let requests: Vec<BindingRequest> = revision
        .bindings
        .iter()
        .map(|binding| BindingRequest {
            action: ActionRef {
                kind: RefKind::ActionId,
                value: binding.action_id.clone(),
            },
            display_name: Some(binding.display_name.clone()),
            on_error: Some(binding.on_error),
        })
        .collect();
    let bindings = match checked(store, tenant_id, trigger_id, &requests, bindings_max).await {
        Ok(bindings) => bindings,
        Err(error) if error.is_bad_input() => {
            return Err(Error::RevisionNotRestorable {
                number,
                reason: error.to_string(),
            })
        }
        Err(error) => return Err(error),
    };
    Ok(store
        .replace_bindings(tenant_id, trigger_id, &bindings, None)
        .await?)
}
