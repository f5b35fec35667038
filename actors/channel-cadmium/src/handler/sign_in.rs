//! Login, registration and `urn:cadmium:auth`: the requests a connection makes before it acts
//! as anyone. Passwords, tokens and throttling are the core's (`users.*`), shared by every
//! protocol with real sign-in.

use channel_kit::Backend;
use serde_json::{json, Value};

use super::{core, Conn};
use crate::codec::{self, Auth, Error};
use crate::errors;
use crate::CHANNEL;

impl<B: Backend> Conn<'_, B> {
    /// `profile:login`: `{authToken, deviceID}`.
    pub(super) fn login(&mut self, username: &str, password: &str) -> Result<Value, Error> {
        let user = self
            .backend
            .authenticate(CHANNEL, username, password, &self.remote)
            .map_err(core)?;
        let (token, device) = self.session_for(&user.id)?;
        Ok(json!({ "authToken": token, "deviceID": device }))
    }

    /// Issues a token for `user` and signs this connection in with it; the token and the
    /// device id.
    fn session_for(&mut self, user: &str) -> Result<(String, String), Error> {
        let token = self.backend.issue_token(user).map_err(core)?;
        self.sign_in(user, &token)?;
        Ok((token, self.device.clone()))
    }

    /// `profile:register`: `{userID}`, and with `loginOnSuccess` the login's answer as
    /// `loginPayload`, as the registration document has it.
    pub(super) fn register(
        &mut self,
        username: &str,
        password: &str,
        login_on_success: bool,
    ) -> Result<Value, Error> {
        if !self.settings.registration {
            return Err(Error::new(errors::REG_DISABLED, "registration is disabled"));
        }
        // A Cadmium username is the user's wcc id, so `@name@server` names them everywhere.
        let user = self
            .backend
            .register(CHANNEL, username, password, Some(username), &self.remote)
            .map_err(core)?;
        let mut reply = json!({ "userID": codec::address(&user.id, &self.settings.server_name) });
        if login_on_success {
            let (token, device) = self.session_for(&user.id)?;
            reply["loginPayload"] = json!({ "authToken": token, "deviceID": device });
            // wcc answered with these two at the top before it followed the document; its own
            // tools (bench, the end-to-end client) still read them there.
            reply["authToken"] = json!(token);
            reply["deviceID"] = json!(device);
        }
        Ok(reply)
    }

    /// `urn:cadmium:auth` (the core document): by password, `{token, deviceID}`; by a token
    /// from an earlier sign-in, `{}`. Either way later requests on this connection need no
    /// `authToken`.
    pub(super) fn auth(&mut self, auth: Auth) -> Result<Value, Error> {
        match auth {
            Auth::LoginPassword { username, password } => {
                let user = self
                    .backend
                    .authenticate(CHANNEL, &username, &password, &self.remote)
                    .map_err(core)?;
                let (token, device) = self.session_for(&user.id)?;
                Ok(json!({ "token": token, "deviceID": device }))
            }
            Auth::Token { token } => {
                let Some(user) = self.backend.token_user(&token).map_err(core)? else {
                    return Err(Error::new(errors::UNAUTHORIZED, "unknown token"));
                };
                self.sign_in(&user, &token)?;
                Ok(json!({}))
            }
        }
    }
}
