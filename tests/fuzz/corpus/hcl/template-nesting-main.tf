locals {
  a = "${"${"${"x"}"}"}"
  b = "%{ for x in ["}", "{"] }${x}%{ endfor }"
  c = "$${not_interp} %%{not_directive} {"
  d = { "k" = { "j" = [1, { "i" = "}" }] } }
}

resource "terraform_data" "a" {
  input = local.a
  provisioner "local-exec" {
    command = "echo ${local.b}"
  }
}
