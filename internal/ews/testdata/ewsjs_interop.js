// Drives Actas's EWS handler with the unmodified ews-javascript-api (a port
// of the EWS Managed API, strict about element order and SOAP faults).
// Usage: node ewsjs_interop.js EWS_URL USER PASSWORD TARGET OTHER DENIED
// Needs NODE_PATH to reach ews-javascript-api. Prints OK lines, then DONE.
const ews = require('ews-javascript-api');
const [url, user, pw, target, other, denied, base] = process.argv.slice(2);

function svcFor(smtp) {
  const svc = new ews.ExchangeService(ews.ExchangeVersion.Exchange2016);
  svc.Credentials = new ews.WebCredentials(user, pw);
  svc.Url = new ews.Uri(url);
  svc.ImpersonatedUserId = new ews.ImpersonatedUserId(ews.ConnectingIdType.SmtpAddress, smtp);
  return svc;
}

// A SOAP fault rejects with SoapFaultDetails (ResponseCode); a response
// message error with ServiceResponseException (ErrorCode).
function faultCode(e) {
  return ews.ServiceError[e.constructor.name === 'SoapFaultDetails' ? e.ResponseCode : e.ErrorCode];
}

(async () => {
  const svc = svcFor(target);
  const inbox = await ews.Folder.Bind(svc, ews.WellKnownFolderName.Inbox);
  console.log('OK inbox', inbox.DisplayName, inbox.TotalCount, svc.ServerInfo ? svc.ServerInfo.MajorBuildNumber : '');
  const found = await svc.FindFolders(ews.WellKnownFolderName.MsgFolderRoot, new ews.FolderView(100));
  console.log('OK folders', found.Folders.length);

  const msg = new ews.EmailMessage(svc);
  msg.Subject = 'From JS';
  msg.Body = new ews.MessageBody(ews.BodyType.Text, 'hello from ews-javascript-api');
  msg.ToRecipients.Add(other);
  await msg.SendAndSaveCopy();
  console.log('OK sent');

  const items = await svc.FindItems(ews.WellKnownFolderName.SentItems, new ews.ItemView(10));
  if (items.Items.length !== 1) throw new Error('sent items: ' + items.Items.length);
  await svc.LoadPropertiesForItems(items.Items, new ews.PropertySet(ews.BasePropertySet.FirstClassProperties));
  const s = items.Items[0];
  if (s.Subject !== 'From JS' || s.From.Address !== target) throw new Error('sent copy: ' + s.Subject + ' ' + s.From.Address);
  console.log('OK loaded', s.Subject, s.From.Address);

  const d = new ews.EmailMessage(svc);
  d.Subject = 'draft';
  d.Body = new ews.MessageBody(ews.BodyType.HTML, '<b>x</b>');
  await d.Save(ews.WellKnownFolderName.Drafts);
  const b = await ews.EmailMessage.Bind(svc, d.Id);
  const stale = await ews.EmailMessage.Bind(svc, d.Id);
  b.Subject = 'draft 2';
  await b.Update(ews.ConflictResolutionMode.AutoResolve);
  const b2 = await ews.EmailMessage.Bind(svc, d.Id);
  if (b2.Subject !== 'draft 2') throw new Error('update: ' + b2.Subject);
  console.log('OK updated', b2.Subject);
  // A stale change key: the Managed API's own conflict error.
  stale.Subject = 'draft 3';
  try {
    await stale.Update(ews.ConflictResolutionMode.AutoResolve);
    throw new Error('stale update accepted');
  } catch (e) {
    if (faultCode(e) !== 'ErrorIrresolvableConflict') throw e;
    console.log('OK conflict', faultCode(e));
  }
  const moved = await b2.Move(ews.WellKnownFolderName.DeletedItems);
  console.log('OK moved');

  const names = await svc.ResolveName(other.split('@')[0], ews.ResolveNameSearchLocation.DirectoryOnly, true);
  console.log('OK resolved', names.Count);

  const oof = await svc.GetUserOofSettings(target);
  console.log('OK oof', ews.OofState[oof.State]);

  try {
    await ews.Folder.Bind(svcFor(denied), ews.WellKnownFolderName.Inbox);
    throw new Error('impersonation of ' + denied + ' allowed');
  } catch (e) {
    const code = faultCode(e);
    if (code !== 'ErrorImpersonateUserDenied' || e.HttpStatusCode !== 500) throw e;
    const reason = e.ErrorDetails && e.ErrorDetails.objects && e.ErrorDetails.objects.ActasReason;
    if (reason !== 'HeldByExclusiveScope') throw new Error('ActasReason: ' + reason);
    console.log('OK denied', code, reason);
  }
  try {
    await ews.Folder.Bind(svcFor('nobody@contoso.test'), ews.WellKnownFolderName.Inbox);
    throw new Error('unknown mailbox allowed');
  } catch (e) {
    const code = faultCode(e);
    if (code !== 'ErrorNonExistentMailbox') throw e;
    console.log('OK unknown', code);
  }
  if (base) {
    const ad = new ews.AutodiscoverService(new ews.Uri(base + '/autodiscover/autodiscover.svc'), ews.ExchangeVersion.Exchange2016);
    ad.Credentials = new ews.WebCredentials(user, pw);
    ad.RedirectionUrlValidationCallback = () => true;
    const resp = await ad.GetUserSettings(target, [ews.UserSettingName.ExternalEwsUrl, ews.UserSettingName.InternalEwsUrl,
      ews.UserSettingName.UserDisplayName, ews.UserSettingName.EwsSupportedSchemas]);
    if (resp.ErrorCode !== ews.AutodiscoverErrorCode.NoError) throw new Error('autodiscover: ' + resp.ErrorMessage);
    const found = String(resp.Settings.get(ews.UserSettingName.ExternalEwsUrl));
    if (found.toLowerCase() !== url.toLowerCase()) throw new Error('autodiscover URL ' + found);
    console.log('OK autodiscover', found, resp.Settings.get(ews.UserSettingName.UserDisplayName));
  }
  console.log('DONE');
})().catch(e => { console.error('FAIL', e && (e.stack || e.message || e)); process.exit(1); });
