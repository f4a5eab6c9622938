/**
 * Emails the app's owner when a user registers: "Hi, {username} ({email}) registered your app."
 * Sent with Amazon SES through the built-in `actionflow:ses` module (the node-ses surface), using the
 * action's own AWS keys, kept as the secrets AWS_SES_KEY and AWS_SES_SECRET.
 * @param {Actionflow.Event} event
 */
const ses = require("actionflow:ses");

// Configure these: SES sends only from an address (or domain) verified in your SES account.
const FROM = "welcome@yourdomain.example";
const TO = "owner@yourdomain.example";

exports.onExecutePostUserRegistration = async (event) => {
  const client = ses.createClient({
    key: event.secrets.AWS_SES_KEY,
    secret: event.secrets.AWS_SES_SECRET,
    region: event.secrets.AWS_SES_REGION ?? "us-east-1",
    // Unset for Amazon SES; a local SES emulator's URL for development (see README.md).
    endpoint: event.secrets.AWS_SES_ENDPOINT,
  });
  const { username, email } = event.user;
  const who = `${username ?? "someone"} (${email})`;
  const { messageId } = await client.sendEmail({
    to: TO,
    from: FROM,
    subject: `New registration: ${username ?? email}`,
    message: `<p>Hi, <b>${escape(who)}</b> registered your app.</p>`,
    altText: `Hi, ${who} registered your app.`,
  });
  console.log(`welcome email sent for ${event.user.user_id}: ${messageId}`);
};

const escape = (s) =>
  s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
