// The address form's region picker without page reloads: choosing a region fetches the next
// level (/api/v1/regions) into the same list, the address form's region follows, and at a
// township or village its service points (/api/v1/nodes) fill the pickup-point list. Without
// this script the picker is a plain form that loads the next level.
(function () {
  var picker = document.querySelector('form[data-region-picker]');
  var address = document.querySelector('form[action="/addresses"] input[name=region_code]');
  if (!picker || !address || !window.fetch) return;
  var select = picker.querySelector('select[name=region]');
  var trail = document.querySelector('nav.trail');
  var en = document.documentElement.lang === 'en';
  var name = function (r) { return (en && r.name_en) || r.name; };
  var button = picker.querySelector('noscript');
  if (button) button.remove();
  var pointsFor = function (code) {
    var old = document.querySelector('form[action="/addresses"] label.points');
    if (old) old.remove();
    fetch('/api/v1/nodes?kind=village_point&limit=100&region=' + encodeURIComponent(code))
      .then(function (r) { return r.ok ? r.json() : { items: [] }; })
      .then(function (page) {
        if (!page.items || !page.items.length) return;
        var label = document.createElement('label');
        label.className = 'points';
        label.textContent = picker.dataset.pointsLabel;
        label.appendChild(document.createElement('br'));
        var s = document.createElement('select');
        s.name = 'node_code';
        s.add(new Option(picker.dataset.toDoor, ''));
        page.items.forEach(function (n) { s.add(new Option(n.name, n.code)); });
        label.appendChild(s);
        var first = address.form.querySelector('label');
        address.form.insertBefore(label, first);
      });
  };
  select.addEventListener('change', function () {
    var code = select.value;
    if (!code) return;
    var chosen = select.options[select.selectedIndex].text;
    address.value = code;
    // The old pickup-point list belongs to the old region.
    var stale = address.form.querySelector('select[name=node_code]');
    if (stale && stale.closest('label')) stale.closest('label').remove();
    if (trail) {
      trail.appendChild(document.createTextNode(' › '));
      var a = document.createElement('a');
      a.href = '/checkout?region=' + encodeURIComponent(code) + '#new-address';
      a.textContent = chosen;
      trail.appendChild(a);
    }
    fetch('/api/v1/regions?parent=' + encodeURIComponent(code))
      .then(function (r) { return r.ok ? r.json() : { items: [] }; })
      .then(function (list) {
        var items = list.items || [];
        while (select.options.length) select.remove(0);
        select.add(new Option('—', code));
        items.forEach(function (r) { select.add(new Option(name(r), r.code)); });
        var label = picker.querySelector('.level');
        if (label) label.textContent = picker.dataset.nextLabel;
        picker.hidden = items.length === 0;
        if (/^\d{9,}$/.test(code)) pointsFor(code);
      });
  });
})();
