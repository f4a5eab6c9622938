/**
 * Emails the app's owner when a user registers: "Hi, {username} ({email}) registered your app."
 * Sent with Amazon SES through the built-in `actionflow:ses` module (the node-ses surface), with the
 * tenant's own AWS keys (secrets) to the addresses the tenant configured.
 */
const ses = require("actionflow:ses");

exports.onExecutePostUserRegistration = async (event) => {
  const client = ses.createClient({
    key: event.secrets.AWS_SES_KEY,
    secret: event.secrets.AWS_SES_SECRET,
    region: event.configuration.AWS_REGION || "us-east-1",
    endpoint: event.configuration.SES_ENDPOINT || undefined,
  });
  const { username, email } = event.user;
  const who = `${username ?? "someone"} (${email})`;
  const { messageId } = await client.sendEmail({
    to: event.configuration.TO_ADDRESS,
    from: event.configuration.FROM_ADDRESS,
    subject: `New registration: ${username ?? email}`,
    message: `<p>Hi, <b>${escape(who)}</b> registered your app.</p>`,
    altText: `Hi, ${who} registered your app.`,
  });
  console.log(`welcome email sent for ${event.user.user_id}: ${messageId}`);
};

const escape = (s) =>
  s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
