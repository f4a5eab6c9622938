//! SES clients, built from what the action passed and nothing else, kept in a small LRU per
//! (access key, region, endpoint) so an action that sends on every execution reuses connections.

use crate::email::ClientOptions;
use crate::endpoint::{self, Resolver};
use crate::errors::SesError;
use crate::SesConfig;
use aws_sdk_sesv2::config::retry::RetryConfig;
use aws_sdk_sesv2::config::{BehaviorVersion, Credentials, Region, SharedHttpClient};
use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};
use std::sync::Mutex;

#[derive(Debug, Clone, PartialEq, Eq)]
struct ClientKey {
    key: String,
    region: String,
    endpoint: Option<String>,
}

struct Cached {
    key: ClientKey,
    /// Compared on every hit: the same key id with another secret must not reuse this client.
    secret: String,
    client: aws_sdk_sesv2::Client,
}

/// A client ready to send, and where it sends (for error messages).
pub struct Ready {
    pub client: aws_sdk_sesv2::Client,
    pub endpoint: String,
}

pub struct Clients {
    config: SesConfig,
    /// One connection pool for every client; it resolves names to public addresses only unless the
    /// embedder allows private endpoints.
    http: SharedHttpClient,
    /// Most recently used first.
    cache: Mutex<Vec<Cached>>,
}

impl Clients {
    pub fn new(config: SesConfig) -> Clients {
        let http = aws_smithy_http_client::Builder::new()
            .tls_provider(Provider::Rustls(CryptoMode::Ring))
            .build_with_resolver(Resolver {
                allow_private: config.allow_private_endpoints,
            });
        Clients {
            config,
            http,
            cache: Mutex::new(Vec::new()),
        }
    }

    /// The client for these options: a cached one when the key, region, endpoint and secret match.
    pub fn get(&self, options: &ClientOptions) -> Result<Ready, SesError> {
        let region = options
            .region
            .clone()
            .unwrap_or_else(|| self.config.region_default.clone());
        endpoint::check_region(&region)?;
        if let Some(url) = &options.endpoint {
            endpoint::check_endpoint(url, self.config.allow_private_endpoints)?;
        }
        let shown = options
            .endpoint
            .clone()
            .unwrap_or_else(|| format!("https://email.{region}.amazonaws.com"));
        let key = ClientKey {
            key: options.key.clone(),
            region,
            endpoint: options.endpoint.clone(),
        };
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        let found = cache.iter().position(|c| c.key == key);
        let client = match found {
            Some(i) if cache[i].secret == options.secret => {
                let hit = cache.remove(i);
                let client = hit.client.clone();
                cache.insert(0, hit);
                client
            }
            _ => {
                if let Some(i) = found {
                    cache.remove(i);
                }
                let client = self.build(&key, &options.secret);
                let secret = options.secret.clone();
                cache.insert(
                    0,
                    Cached {
                        key,
                        secret,
                        client: client.clone(),
                    },
                );
                cache.truncate(self.config.clients_max.max(1));
                client
            }
        };
        Ok(Ready {
            client,
            endpoint: shown,
        })
    }

    /// A client whose only credentials are the action's: no environment, profile or instance metadata.
    fn build(&self, key: &ClientKey, secret: &str) -> aws_sdk_sesv2::Client {
        let credentials = Credentials::new(&key.key, secret, None, None, "actionflow");
        let mut config = aws_sdk_sesv2::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(key.region.clone()))
            .credentials_provider(credentials)
            .http_client(self.http.clone())
            .retry_config(RetryConfig::standard().with_max_attempts(2));
        if let Some(url) = &key.endpoint {
            config = config.endpoint_url(url);
        }
        aws_sdk_sesv2::Client::from_conf(config.build())
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.cache.lock().map(|c| c.len()).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn options(key: &str, secret: &str) -> ClientOptions {
        ClientOptions {
            key: key.to_owned(),
            secret: secret.to_owned(),
            region: Some("eu-west-1".to_owned()),
            endpoint: None,
        }
    }

    #[test]
    fn the_cache_is_bounded_and_keyed_by_the_secret_too() {
        let clients = Clients::new(SesConfig {
            clients_max: 2,
            ..SesConfig::default()
        });
        for key in ["a", "b", "c", "a"] {
            clients.get(&options(key, "s")).unwrap();
        }
        assert_eq!(clients.len(), 2);
        clients.get(&options("a", "other secret")).unwrap();
        let cache = clients.cache.lock().unwrap();
        assert_eq!(cache.len(), 2);
        assert_eq!(cache[0].secret, "other secret");
        assert_eq!(cache[1].key.key, "c");
    }
}
