// Caseflow client script: the search window and the session clock.
function cwOpenSearch() {
  window.open('/search', 'CWSearch', 'width=780,height=560,resizable=yes,scrollbars=yes');
  return false;
}
function cwSelect(ref) {
  var target = window.opener ? window.opener.top.frames['content'] : null;
  if (target) { target.location.href = '/case/' + encodeURIComponent(ref); }
  window.close();
  return false;
}
