// The back office's pages. On a phone the navigation is one scrolling row: the page's own
// link is brought into view. A form whose answer takes a moment (a re-plan) says so once
// sent, and is not sent twice.
var here = document.querySelector('nav.bo [aria-current]');
if (here && here.parentNode.scrollWidth > here.parentNode.clientWidth) { here.scrollIntoView({block: 'nearest', inline: 'center'}); }
document.querySelectorAll('form[data-busy]').forEach(function(f){f.addEventListener('submit',function(){var b=f.querySelector('button');if(b){b.disabled=true;b.textContent=f.getAttribute('data-busy')}})});
