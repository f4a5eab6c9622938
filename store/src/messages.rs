//! Messages between the nodes that share one database, for what is live and not kept (the console
//! of webtasks): PostgreSQL's `NOTIFY`/`LISTEN`. On SQLite there is one node, so there is nobody to
//! tell: sending does nothing and there is nothing to listen to.

use async_trait::async_trait;
use sqlx::postgres::PgListener;
use tokio::sync::mpsc;

use crate::db::Db;
use crate::{Result, SqlStore};

/// The largest payload one message carries (PostgreSQL refuses 8,000 bytes and more).
pub const NODE_MESSAGE_BYTES_MAX: usize = 7_900;

/// Messages waiting for the listener's reader before newer ones are dropped.
const RECEIVED_BACKLOG: usize = 256;

#[async_trait]
pub trait NodeMessages: Send + Sync {
    /// Sends `payload` (at most [`NODE_MESSAGE_BYTES_MAX`] bytes) to every node listening on
    /// `channel`, this one included. Nothing on SQLite.
    async fn send_to_nodes(&self, channel: &str, payload: &str) -> Result<()>;
    /// What nodes send on `channel` from now on, through a dedicated connection that reconnects by
    /// itself (messages sent while it is down are lost); `None` on SQLite. The connection closes
    /// once the receiver is dropped.
    async fn listen_to_nodes(&self, channel: &str) -> Result<Option<mpsc::Receiver<String>>>;
}

#[async_trait]
impl NodeMessages for SqlStore {
    async fn send_to_nodes(&self, channel: &str, payload: &str) -> Result<()> {
        let Db::Postgres(pool) = &self.db else {
            return Ok(());
        };
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(channel)
            .bind(payload)
            .execute(pool)
            .await?;
        Ok(())
    }

    async fn listen_to_nodes(&self, channel: &str) -> Result<Option<mpsc::Receiver<String>>> {
        let Db::Postgres(pool) = &self.db else {
            return Ok(None);
        };
        let mut listener = PgListener::connect_with(pool).await?;
        listener.listen(channel).await?;
        let (tx, rx) = mpsc::channel(RECEIVED_BACKLOG);
        let channel = channel.to_owned();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    () = tx.closed() => return,
                    received = listener.recv() => match received {
                        // A full backlog drops the message: live lines, not records.
                        Ok(n) => {
                            let _ = tx.try_send(n.payload().to_owned());
                        }
                        Err(sqlx::Error::PoolClosed) => return,
                        Err(error) => {
                            tracing::warn!(%error, channel, "listening to other nodes");
                            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                        }
                    },
                }
            }
        });
        Ok(Some(rx))
    }
}
