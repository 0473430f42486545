(function(){
var f=document.getElementById('scan-form'),out=document.getElementById('scan-results'),
st=document.getElementById('scan-queue'),K='bazaar-scan-queue',busy=false;
function q(){try{return JSON.parse(localStorage.getItem(K)||'[]')}catch(e){return []}}
function save(x){localStorage.setItem(K,JSON.stringify(x))}
function id(){return (window.crypto&&crypto.randomUUID)?crypto.randomUUID():
 Date.now().toString(36)+'-'+Math.random().toString(36).slice(2)}
function show(){var n=q().length;st.textContent=n?st.dataset.waiting.replace('{n}',n):''}
function flush(){
 var x=q();if(busy||!x.length){show();return}
 busy=true;
 fetch('/manage/scans',{method:'POST',credentials:'same-origin',
  headers:{'Content-Type':'application/json','X-CSRF-Token':f.elements.csrf.value},
  body:JSON.stringify({scans:x.slice(0,200)})})
 .then(function(r){if(!r.ok)throw new Error(r.status);return r.json()})
 .then(function(v){
  var done={};v.results.forEach(function(r){done[r.client_id]=1});
  save(q().filter(function(s){return !done[s.client_id]}));
  v.html.forEach(function(h){out.insertAdjacentHTML('afterbegin',h)});
 })
 .catch(function(){})
 .then(function(){busy=false;show()});
}
f.addEventListener('submit',function(ev){
 ev.preventDefault();
 var w=f.elements.waybill.value.trim();if(!w)return;
 var s={client_id:id(),waybill:w,kind:f.elements.kind.value,at:Date.now()};
 if(f.elements.node_code&&f.elements.node_code.value)s.node_code=f.elements.node_code.value;
 if(f.elements.sack.value.trim())s.sack=f.elements.sack.value.trim();
 ['carrier','recipient_name','recipient_phone','dest_node'].forEach(function(k){
  var e=f.elements[k];if(e&&e.value.trim())s[k]=e.value.trim()});
 var x=q();x.push(s);save(x);f.elements.waybill.value='';f.elements.waybill.focus();flush();
});
window.addEventListener('online',flush);setInterval(flush,15000);flush();
var cam=document.getElementById('scan-camera');
if('BarcodeDetector' in window&&navigator.mediaDevices){
 cam.hidden=false;
 cam.addEventListener('click',function(){
  var v=document.createElement('video');v.setAttribute('playsinline','');v.style.maxWidth='100%';
  cam.after(v);var d=new BarcodeDetector(),last='';
  navigator.mediaDevices.getUserMedia({video:{facingMode:'environment'}}).then(function(m){
   v.srcObject=m;v.play();
   (function look(){d.detect(v).then(function(c){
    if(c.length&&c[0].rawValue!==last){last=c[0].rawValue;f.elements.waybill.value=last;
     f.requestSubmit();}
    setTimeout(look,300)}).catch(function(){setTimeout(look,1000)})})();
  }).catch(function(){v.remove()});
 });
}
})();
