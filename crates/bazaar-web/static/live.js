// A live session's page follows the session's event stream: what is left of each offer
// and the session's state change in place; a new pin or a new offer reloads the page (its
// cards are drawn by the server). Without scripts the page is the same, as of its loading.
(function () {
  var box = document.getElementById('live-offers');
  if (!box || !window.EventSource) { return; }
  var id = box.getAttribute('data-session');
  var shown = null;
  var src = new EventSource('/api/v1/live/sessions/' + id + '/events');
  src.addEventListener('state', function (e) {
    var s = JSON.parse(e.data);
    var key = s.status + '|' + s.pinned_product_id + '|' + s.offers.map(function (o) { return o.id + ':' + o.status; }).join(',');
    if (shown !== null && key !== shown) { location.reload(); return; }
    shown = key;
    s.offers.forEach(function (o) {
      var card = box.querySelector('[data-offer="' + o.id + '"] .left');
      if (card && o.status === 'live') { card.textContent = card.textContent.replace(/\d+/, String(o.remaining)); }
    });
  });
})();
