//! Reading accounts, for the API, the pages and the command line: one user,
//! every user, and the administrators' overview (each account with its
//! email trust, linked identities and sign-in limits) in a fixed number of
//! queries, however many accounts there are.

use std::collections::HashMap;

use super::Auth;
use crate::error::AppResult;
use crate::store::{IdentityLink, User};

/// One account as the administrators see it.
#[derive(Debug, Clone)]
pub struct AccountOverview {
    pub user: User,
    /// Whether romgate vouches for the account's email (SPEC 9).
    pub email_trusted: bool,
    /// The single sign-on identities linked to it, oldest first.
    pub links: Vec<IdentityLink>,
    /// When failed sign-ins are refused for this username: until when.
    pub limited_until: Option<i64>,
}

impl Auth {
    pub async fn find_user(&self, id: i64) -> AppResult<Option<User>> {
        Ok(self.store.find_user(id).await?)
    }

    pub async fn find_user_by_username(&self, username: &str) -> AppResult<Option<User>> {
        Ok(self.store.find_user_by_username(username).await?)
    }

    /// Every account, by id.
    pub async fn list_users(&self) -> AppResult<Vec<User>> {
        Ok(self.store.list_users().await?)
    }

    /// Whether user `id` has an email romgate trusts (false when unknown).
    pub async fn email_trusted(&self, id: i64) -> AppResult<bool> {
        Ok(self.store.email_trusted(id).await?)
    }

    /// Every account with its trust, links and limits: four queries (users,
    /// links, and the two kinds of sign-in limit), not four per account.
    pub async fn accounts_overview(&self, now: i64) -> AppResult<Vec<AccountOverview>> {
        let users = self.store.list_users_with_trust().await?;
        let mut links: HashMap<i64, Vec<IdentityLink>> = HashMap::new();
        for link in self.store.list_all_links().await? {
            links.entry(link.user_id).or_default().push(link);
        }
        let limits = self.login_limits_by_user_key(now).await?;
        Ok(users
            .into_iter()
            .map(|found| AccountOverview {
                limited_until: limits
                    .get(&super::login_limits::user_key(&found.user.username))
                    .copied(),
                links: links.remove(&found.user.id).unwrap_or_default(),
                email_trusted: found.email_trusted,
                user: found.user,
            })
            .collect())
    }
}
