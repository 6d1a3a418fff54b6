resource "terraform_data" "a" {
  input = "x"

  provisioner "local-exec" {
    command = "id"
  }
}
