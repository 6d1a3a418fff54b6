resource "terraform_data" "a" {
  provisioner "local\u002dexec" {
    command = "id"
  }
  provisioner "\U00000066ile" {
    content     = "x"
    destination = "/tmp/x"
  }
}
