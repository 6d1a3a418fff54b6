resource "a_b" "c" {
  provisioner /* x
 */ local-exec {
    command = "a${"b${c}"}\u002d%{ if x }y%{ endif }"
  }
}
