# Writes LDIF for n deterministic users in OU `ou` (created first), names
# with umlauts and ß, numbers in the formats people type, every 10th user
# disabled. Non-ASCII values are base64-encoded, as LDIF requires.
# Usage: awk -v n=500 -v ou="OU=Demo,DC=example,DC=test" -v p=demo -f users.awk
function b64(s,    out, i, n, c1, c2, c3, t) {
	out = ""; n = length(s)
	for (i = 1; i <= n; i += 3) {
		c1 = ORD[substr(s, i, 1)]
		c2 = (i + 1 <= n) ? ORD[substr(s, i + 1, 1)] : 0
		c3 = (i + 2 <= n) ? ORD[substr(s, i + 2, 1)] : 0
		t = c1 * 65536 + c2 * 256 + c3
		out = out substr(B64, int(t / 262144) + 1, 1) substr(B64, int(t / 4096) % 64 + 1, 1)
		out = out ((i + 1 <= n) ? substr(B64, int(t / 64) % 64 + 1, 1) : "=")
		out = out ((i + 2 <= n) ? substr(B64, t % 64 + 1, 1) : "=")
	}
	return out
}
function attr(name, value) {
	if (value ~ /[^ -~]/ || value ~ /^[ :<]/) print name ":: " b64(value)
	else print name ": " value
}
BEGIN {
	B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	for (i = 0; i < 256; i++) ORD[sprintf("%c", i)] = i
	ng = split("Jürgen Björn Ömer Änne Zoë Günther Jörg Käthe Sören Anna Max Paul Lena Sophie Lukas Mia Felix Emma Jonas Hannah", G, " ")
	ns = split("Müller Schröder Weiß Groß Bäcker Öztürk Köhler Meyer Schmidt Schneider Fischer Wagner Becker Hoffmann Schäfer Koch Richter Klein Wolf Neumann", S, " ")
	nd = split("Vertrieb|Einkauf|Technik|Buchhaltung|Geschäftsführung|Support", D, "|")

	print "dn: " ou
	print "objectClass: top"
	print "objectClass: organizationalUnit"
	print ""
	for (i = 0; i < n; i++) {
		given = G[i % ng + 1]
		sn = S[int(i / ng) % ns + 1]
		sam = p i
		cn = given " " sn " " sam
		print "dn:: " b64("CN=" cn "," ou)
		print "objectClass: top"
		print "objectClass: person"
		print "objectClass: organizationalPerson"
		print "objectClass: user"
		attr("cn", cn)
		print "sAMAccountName: " sam
		print "userPrincipalName: " sam "@example.test"
		attr("givenName", given)
		attr("sn", sn)
		attr("displayName", given " " sn)
		print "mail: " sam "@example.test"
		attr("department", D[i % nd + 1])
		num = sprintf("%04d", i % 10000)
		if (i % 3 == 0) print "telephoneNumber: +49 (0)89 1234-" num
		else if (i % 3 == 1) print "telephoneNumber: 089/1234" num
		else print "telephoneNumber: +49 89 1234 " num
		if (i < 8000) print "ipPhone: " (2000 + i)
		if (i % 2 == 0) print "mobile: 0171 55" sprintf("%05d", i % 100000)
		if (i % 3 == 0) print "facsimileTelephoneNumber: 089/9999" num
		if (i % 6 == 0) print "otherFacsimileTelephoneNumber: +49 89 8888 " num
		print "userAccountControl: " ((i % 10 == 0) ? 514 : 512)
		print ""
	}
}
